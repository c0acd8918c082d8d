package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.FolderSnapshot;
import dev.palimpsest.io.OutputFolder;

/**
 * A model directory in Hugging Face layout, loaded: the network, its tokenizer, and the files that
 * travel with it. {@link #save} writes the same layout back, so the result loads here and in any
 * tool that reads Hugging Face directories.
 */
public final class LanguageModel implements AutoCloseable {
    private final ModelConfig config;
    private final CausalLM net;
    private final Tokenizer tokenizer;
    private final DType storedAs;
    private final Map<String, byte[]> tokenizerFiles;
    private final List<Memory> memories = new ArrayList<>();
    /** The folder it was loaded from; null for a model built in memory. */
    private Path source;
    /** False for a copy made by {@link #sharingWeights}: the weights and tokenizer belong to the model it shares them with. */
    private boolean owner = true;

    public LanguageModel(ModelConfig config, CausalLM net, Tokenizer tokenizer, DType storedAs,
            Map<String, byte[]> tokenizerFiles) {
        this.config = config;
        this.net = net;
        this.tokenizer = tokenizer;
        this.storedAs = storedAs;
        this.tokenizerFiles = tokenizerFiles;
    }

    /**
     * Loads a model directory as one consistent version: every file is read through one handle of the
     * folder (see {@link FolderSnapshot}); a read that a concurrent writer tore is done once more, and
     * a second torn read is reported rather than computed with.
     */
    public static LanguageModel load(Path dir) {
        return load(dir, null);
    }

    /**
     * Loads a model computing in {@code as}: float32, bfloat16 or float16. Null is {@code auto}: the
     * config's {@code torch_dtype} as transformers reads it, else the type the weights are stored in.
     */
    public static LanguageModel load(Path dir, DType as) {
        for (int attempt = 1; ; attempt++) {
            try (FolderSnapshot snap = FolderSnapshot.open(dir, "a model directory")) {
                LanguageModel m;
                try {
                    m = read(snap, as);
                } catch (UserError e) {
                    // A folder that looks broken because a writer was deleting it as we read is a torn read.
                    if (!(e instanceof FolderSnapshot.Torn) && !snap.isCurrent()) throw new FolderSnapshot.Torn(e.getMessage());
                    throw e;
                }
                try {
                    snap.verify();
                } catch (FolderSnapshot.Torn t) {
                    m.close();
                    throw t;
                }
                m.source = dir;
                return m;
            } catch (FolderSnapshot.Torn t) {
                if (attempt == 2)
                    throw new UserError(dir + ": changed while it was being read, twice (" + t.getMessage()
                            + "); is another process writing it?");
            }
        }
    }

    private static LanguageModel read(FolderSnapshot dir, DType as) {
        if (!dir.has("config.json")) throw new UserError(dir.dir() + ": missing config.json");
        Path cfgPath = dir.path("config.json");
        ModelConfig config = ModelConfig.parse(Tokenizer.parseJson(new ObjectMapper(), dir.bytes("config.json"), cfgPath), cfgPath);
        Tokenizer tokenizer = Tokenizer.load(dir, config);
        try {
            List<String> names = CausalLM.specs(config).stream().map(ParamSpec::name).toList();
            Map<String, String> aliases = new HashMap<>();
            if (config.family() == Family.GPT2) {
                // The original GPT-2 checkpoints name their tensors without the "transformer." prefix.
                for (String n : names) if (n.startsWith(Gpt2Model.PREFIX)) aliases.put(n, n.substring(Gpt2Model.PREFIX.length()));
            }
            if (as == null) as = DType.ofTorchName(config.raw().path("torch_dtype").asText(null));
            Checkpoint.Loaded loaded = Checkpoint.load(dir, names, aliases, as);
            CausalLM net = CausalLM.create(config, loaded.tensors(), dir.dir().toString());
            Map<String, byte[]> files = new LinkedHashMap<>();
            for (String f : Tokenizer.FILES) if (dir.has(f)) files.put(f, dir.bytes(f));
            LanguageModel m = new LanguageModel(config, net, tokenizer, loaded.storedAs(), files);
            for (MemoryReader r : MemoryReader.all())
                if (dir.has(r.file())) m.attach(r.read(m.net(), SafeTensorsFile.read(dir.channel(r.file()), dir.path(r.file()))));
            return m;
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** The folder the model was loaded from (null for one built in memory). */
    public Path source() {
        return source;
    }

    /** Attaches a memory: it takes part in every forward pass and is saved with the model. */
    public void attach(Memory memory) {
        memories.add(memory);
    }

    /** Detaches a memory attached before. */
    public void detach(Memory memory) {
        memory.detach();
        memories.remove(memory);
    }

    /** The attached memory of this kind (the last attached, should there be several), or null. */
    public <T extends Memory> T memory(Class<T> kind) {
        T found = null;
        for (Memory mem : memories) if (kind.isInstance(mem)) found = kind.cast(mem);
        return found;
    }

    public List<Memory> memories() {
        return List.copyOf(memories);
    }

    /**
     * Writes config, weights ({@code dtype} for floating tensors), tokenizer files and attached memories
     * into {@code dir}, an empty folder (an {@link OutputFolder}'s staging folder).
     */
    public void writeInto(Path dir, DType dtype) throws IOException {
        ObjectNode cfg = config.raw().deepCopy();
        cfg.put("torch_dtype", dtype.torchName());
        ObjectMapper om = new ObjectMapper();
        Files.writeString(dir.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        Checkpoint.save(dir, net.parameters(), dtype);
        for (Map.Entry<String, byte[]> f : tokenizerFiles.entrySet()) Files.write(dir.resolve(f.getKey()), f.getValue());
        for (Memory mem : memories) mem.write(dir.resolve(mem.file()));
    }

    /** About how many bytes {@link #writeInto} writes (weights and memories' parameters; small files aside). */
    public long savedBytes(DType dtype) {
        long tokenizerBytes = tokenizerFiles.values().stream().mapToLong(b -> b.length).sum();
        return Checkpoint.bytes(net.parameters(), dtype) + tokenizerBytes + (1 << 20);
    }

    /**
     * Saves the model as a new folder {@code dir} (a new path or an empty folder; see {@link OutputFolder}),
     * published complete or not at all.
     */
    public void save(Path dir, DType dtype) throws IOException {
        try (OutputFolder out = OutputFolder.prepare(dir, false, List.of())) {
            out.requireSpace(savedBytes(dtype));
            out.fill(d -> writeInto(d, dtype));
            out.publish("model");
        }
    }

    public void save(Path dir) throws IOException {
        save(dir, storedAs);
    }

    public ModelConfig config() {
        return config;
    }

    public CausalLM net() {
        return net;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The floating dtype the weights were stored in on disk. */
    public DType storedAs() {
        return storedAs;
    }

    /** How questions are put to this model (its chat template, else the default template). */
    public QuestionFormat questionFormat() {
        return QuestionFormat.of(this, null);
    }

    /**
     * A second model over the same weight tensors and tokenizer, with its own network objects and site hooks (so its own
     * memories) and none attached: what one copy's memory methods do is invisible to the other, while a weight written
     * in place is seen by both. Closing it frees nothing; the original must outlive it.
     */
    public LanguageModel sharingWeights() {
        LanguageModel m = new LanguageModel(config, CausalLM.create(config, net.parameters(), String.valueOf(source)), tokenizer, storedAs,
                tokenizerFiles);
        m.source = source;
        m.owner = false;
        return m;
    }

    /** Frees the tokenizer and the weights; the model is unusable afterwards. */
    @Override
    public void close() {
        if (!owner) return;
        tokenizer.close();
        net.release();
    }
}
