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
import dev.palimpsest.io.AtomicFiles;

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

    public LanguageModel(ModelConfig config, CausalLM net, Tokenizer tokenizer, DType storedAs,
            Map<String, byte[]> tokenizerFiles) {
        this.config = config;
        this.net = net;
        this.tokenizer = tokenizer;
        this.storedAs = storedAs;
        this.tokenizerFiles = tokenizerFiles;
    }

    public static LanguageModel load(Path dir) {
        if (!Files.isDirectory(dir)) throw new UserError(dir + ": not a model directory");
        Path cfgPath = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgPath)) throw new UserError(dir + ": missing config.json");
        ModelConfig config = ModelConfig.parse(Tokenizer.readJson(new ObjectMapper(), cfgPath), cfgPath);
        Tokenizer tokenizer = Tokenizer.load(dir, config);
        List<String> names = CausalLM.specs(config).stream().map(ParamSpec::name).toList();
        Map<String, String> aliases = new HashMap<>();
        if (config.family() == Family.GPT2) {
            // The original GPT-2 checkpoints name their tensors without the "transformer." prefix.
            for (String n : names) if (n.startsWith(Gpt2Model.PREFIX)) aliases.put(n, n.substring(Gpt2Model.PREFIX.length()));
        }
        Checkpoint.Loaded loaded = Checkpoint.load(dir, names, aliases);
        CausalLM net = CausalLM.create(config, loaded.tensors(), dir.toString());
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String f : Tokenizer.FILES) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) {
                try {
                    files.put(f, Files.readAllBytes(p));
                } catch (IOException e) {
                    throw new UserError(p + ": cannot read (" + e.getMessage() + ")");
                }
            }
        }
        LanguageModel m = new LanguageModel(config, net, tokenizer, loaded.storedAs(), files);
        Path codebook = dir.resolve(Codebook.FILE);
        if (Files.isRegularFile(codebook)) m.attach(Codebook.read(m.net(), codebook));
        Path side = dir.resolve(SideMemory.FILE);
        if (Files.isRegularFile(side)) m.attach(SideMemory.read(m.net(), side));
        Path loka = dir.resolve(KnowledgeCodebook.FILE);
        if (Files.isRegularFile(loka)) m.attach(KnowledgeCodebook.read(m.net(), loka));
        return m;
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
     * Writes config, weights (fp32 unless {@code dtype} says otherwise), tokenizer files and attached memories into {@code dir},
     * atomically: the folder appears complete or not at all.
     */
    public void save(Path dir, DType dtype) throws IOException {
        AtomicFiles.writeDirectory(dir, tmp -> {
            ObjectNode cfg = config.raw().deepCopy();
            cfg.put("torch_dtype", dtype.torchName());
            ObjectMapper om = new ObjectMapper();
            Files.writeString(tmp.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
            Checkpoint.save(tmp, net.parameters(), dtype);
            for (Map.Entry<String, byte[]> f : tokenizerFiles.entrySet()) Files.write(tmp.resolve(f.getKey()), f.getValue());
            for (Memory mem : memories) mem.write(tmp.resolve(mem.file()));
        });
    }

    public void save(Path dir) throws IOException {
        save(dir, DType.F32);
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

    @Override
    public void close() {
        tokenizer.close();
    }
}
