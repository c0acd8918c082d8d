package dev.palimpsest.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.tensor.ComputeDevice;
import dev.palimpsest.tensor.Tensors;

/**
 * The device path. On a machine whose libtorch sees a CUDA device (the {@code cuda} Maven profile), the
 * model conformance suites run again with the model on the GPU; elsewhere that test is reported as not
 * run (skipped). What needs no GPU runs everywhere: tensors are made and read only through the device-aware
 * helpers, and a CUDA device that is not there is the user's error.
 */
class DeviceTest {
    @TempDir
    Path tmp;

    @AfterEach
    void backToTheCpu() {
        ComputeDevice.set("cpu");
    }

    @Test
    void conformanceSuitesPassOnCuda() throws IOException {
        assumeTrue(ComputeDevice.cudaDevices() > 0, "not run: libtorch sees no CUDA device (build with -Pcuda on a GPU machine)");
        ComputeDevice.use("cuda");
        ForwardReferenceTest forward = new ForwardReferenceTest();
        for (Arguments a : ForwardReferenceTest.families().toList()) {
            forward.logitsMatchTheDoublePrecisionReference((String) a.get()[0], (ObjectNode) a.get()[1]);
            forward.fp64ModelMatchesTheReferenceToRoundoff((String) a.get()[0], (ObjectNode) a.get()[1]);
        }
        FamilyReferenceTest families = new FamilyReferenceTest();
        for (String family : FamilyReferenceTest.FIXTURES) families.logProbabilitiesMatchTheIndependentReference(family);
        BatchingAndCacheTest batching = new BatchingAndCacheTest();
        for (String family : TinyModels.FAMILIES) {
            batching.scoringABatchEqualsScoringEachAlone(family);
            batching.leftPaddedBatchGivesEachRowItsUnpaddedLogits(family);
            batching.runningFromAPrefixEqualsTheWholePassAndRunsOnlyTheLayersAbove(family);
            batching.cachedGenerationEqualsUncachedGeneration(family);
        }
        batching.cachedLogitsEqualFullSequenceLogits();
        batching.slidingWindowLimitsWhatAQuerySees();
        PrecisionTest precision = new PrecisionTest();
        precision.tmp = tmp.resolve("precision");
        java.nio.file.Files.createDirectories(precision.tmp);
        precision.narrowComputeAgreesWithFp32ForEveryFamily();
        precision.aBf16CheckpointLoadsAsBf16AndIsSavedAsBf16();
        precision.masterWeightsKeepStepsSmallerThanBf16Resolution();
        SaveLoadTest saving = new SaveLoadTest();
        saving.tmp = tmp.resolve("save");
        java.nio.file.Files.createDirectories(saving.tmp);
        saving.saveThenLoadIsBitExactForEveryFamily();
    }

    /**
     * Tensors are made on the compute device because the project makes them in one place ({@link Tensors}'s
     * factories, whose options name the device) and reads numbers back in one place (which copies to the host
     * first). (libtorch's shape-only "meta" device cannot stand in for a GPU here: index_select and other ops
     * have their meta kernels only in Python.) So: no other file builds tensor options or touches raw memory,
     * except the safetensors reader and writer, whose host buffers move to and from the device at once.
     */
    @Test
    void tensorsAreMadeAndReadOnlyThroughTheDeviceAwareHelpers() throws IOException {
        Path main = Path.of("src/main/java");
        Set<String> bypassing = new TreeSet<>();
        try (var files = Files.walk(main)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                String name = f.getFileName().toString();
                String src = Files.readString(f);
                boolean options = src.contains("new TensorOptions(") || src.contains("torch.tensor(");
                boolean raw = src.contains("data_ptr");
                if (options && !List.of("Tensors.java", "SafeTensorsFile.java").contains(name)) bypassing.add(name + " (tensor options)");
                if (raw && !List.of("Tensors.java", "SafeTensorsFile.java", "SafeTensorsWriter.java").contains(name)) bypassing.add(name + " (data_ptr)");
            }
        }
        assertTrue(bypassing.isEmpty(), "tensors made or read outside the device-aware helpers: " + bypassing);
        assertTrue(Files.readString(main.resolve("dev/palimpsest/tensor/Tensors.java")).contains("ComputeDevice.current()"));
    }

    @Test
    void aMissingCudaDeviceIsTheUsersError() {
        assumeTrue(ComputeDevice.cudaDevices() == 0, "this machine has a CUDA device");
        UserError e = assertThrows(UserError.class, () -> ComputeDevice.use("cuda"));
        assertTrue(e.getMessage().contains("-Pcuda"), e.getMessage());
        assertThrows(UserError.class, () -> ComputeDevice.use("tpu"));
        ComputeDevice.use("auto");
        assertEquals("cpu", ComputeDevice.name());
    }
}
