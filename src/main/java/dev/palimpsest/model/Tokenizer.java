package dev.palimpsest.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.palimpsest.UserError;

/**
 * A Hugging Face {@code tokenizer.json} (through the Rust tokenizers library) plus what
 * {@code tokenizer_config.json} says about special tokens. Text is encoded without special tokens,
 * without truncation and without padding; a BOS id is prepended to prompts only where the config asks
 * (add_bos_token, or a post-processor template that starts with BOS).
 */
public final class Tokenizer implements AutoCloseable {
    static {
        System.setProperty("ai.djl.offline", "true");
    }

    private final HuggingFaceTokenizer hf;
    private final Map<String, Long> specialIds;
    private final Long bosId;
    private final Set<Long> eosIds;
    private final long padId;
    private final boolean addBos;
    private final ChatTemplate chatTemplate;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Long> specialIds, Long bosId, Set<Long> eosIds, long padId,
            boolean addBos, ChatTemplate chatTemplate) {
        this.hf = hf;
        this.specialIds = specialIds;
        this.bosId = bosId;
        this.eosIds = eosIds;
        this.padId = padId;
        this.addBos = addBos;
        this.chatTemplate = chatTemplate;
    }

    /** Loads the tokenizer of a model directory; {@code config} supplies bos/eos ids the files may lack. */
    public static Tokenizer load(Path dir, ModelConfig config) {
        Path tj = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tj)) throw new UserError(dir + ": missing tokenizer.json");
        ObjectMapper om = new ObjectMapper();
        JsonNode tokJson = readJson(om, tj);
        Map<String, Long> special = new TreeMap<>();
        for (JsonNode t : tokJson.path("added_tokens")) special.put(t.path("content").asText(), t.path("id").asLong());
        Path tcPath = dir.resolve("tokenizer_config.json");
        JsonNode tc = Files.isRegularFile(tcPath) ? readJson(om, tcPath) : om.createObjectNode();
        Path gcPath = dir.resolve("generation_config.json");
        JsonNode gc = Files.isRegularFile(gcPath) ? readJson(om, gcPath) : om.createObjectNode();

        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.builder().optTokenizerPath(tj).optAddSpecialTokens(false).optTruncation(false)
                    .optPadding(false).build();
        } catch (IOException | RuntimeException e) {
            throw new UserError(tj + ": cannot load tokenizer (" + firstLine(e.getMessage()) + ")");
        }
        String bosText = tokenText(tc.get("bos_token"));
        String eosText = tokenText(tc.get("eos_token"));
        Long bos = bosText != null && special.containsKey(bosText) ? special.get(bosText)
                : config.bosTokenId() != null ? Long.valueOf(config.bosTokenId()) : null;
        Set<Long> eos = new LinkedHashSet<>();
        if (eosText != null && special.containsKey(eosText)) eos.add(special.get(eosText));
        config.eosTokenIds().forEach(i -> eos.add(i.longValue()));
        JsonNode gEos = gc.get("eos_token_id");
        if (gEos != null && gEos.isArray()) gEos.forEach(n -> eos.add(n.asLong()));
        else if (gEos != null && gEos.isIntegralNumber()) eos.add(gEos.asLong());
        String padText = tokenText(tc.get("pad_token"));
        long pad = padText != null && special.containsKey(padText) ? special.get(padText)
                : !eos.isEmpty() ? eos.iterator().next() : 0;
        boolean addBos;
        if (tc.has("add_bos_token")) {
            addBos = tc.get("add_bos_token").asBoolean();
        } else {
            addBos = postProcessorStartsWith(tokJson.path("post_processor"), bosText);
        }
        if (addBos && bos == null) throw new UserError(tcPath + ": add_bos_token is true but no BOS token is defined");
        String template = chatTemplateText(tc.get("chat_template"));
        if (template == null) {
            Path jinja = dir.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                try {
                    template = Files.readString(jinja);
                } catch (IOException e) {
                    throw new UserError(jinja + ": cannot read (" + e.getMessage() + ")");
                }
            }
        }
        return new Tokenizer(hf, special, bos, eos, pad, addBos, ChatTemplate.of(template, bosText, eosText));
    }

    /** Token ids of text, no special tokens added. */
    public long[] encode(String text) {
        if (text.isEmpty()) return new long[0];
        return hf.encode(text, false, false).getIds();
    }

    /** Token ids of a prompt: BOS first where the tokenizer config asks for it. */
    public long[] encodePrompt(String text) {
        long[] ids = encode(text);
        if (!addBos) return ids;
        long[] out = new long[ids.length + 1];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    public String decode(long[] ids) {
        return hf.decode(ids, true);
    }

    /** One token's text, special tokens included (for tables and plots). */
    public String tokenText(long id) {
        return hf.decode(new long[] {id}, false);
    }

    public boolean isEos(long id) {
        return eosIds.contains(id);
    }

    public Set<Long> eosIds() {
        return eosIds;
    }

    public boolean addsBos() {
        return addBos;
    }

    public long padId() {
        return padId;
    }

    public Long specialId(String content) {
        return specialIds.get(content);
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public void close() {
        hf.close();
    }

    private static boolean postProcessorStartsWith(JsonNode pp, String bosText) {
        if (bosText == null || pp.isMissingNode() || pp.isNull()) return false;
        JsonNode procs = pp.path("type").asText().equals("Sequence") ? pp.path("processors") : null;
        if (procs != null) {
            for (JsonNode p : procs) if (postProcessorStartsWith(p, bosText)) return true;
            return false;
        }
        if (!pp.path("type").asText().equals("TemplateProcessing")) return false;
        JsonNode first = pp.path("single").path(0).path("SpecialToken").path("id");
        return bosText.equals(first.asText(null));
    }

    private static String chatTemplateText(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n.isArray()) {
            for (JsonNode t : n) if ("default".equals(t.path("name").asText())) return t.path("template").asText();
            if (n.size() > 0) return n.get(0).path("template").asText(null);
        }
        return null;
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.has("content")) return n.get("content").asText();
        return null;
    }

    static JsonNode readJson(ObjectMapper om, Path p) {
        try {
            return om.readTree(p.toFile());
        } catch (IOException e) {
            throw new UserError(p + ": not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    /** Token files copied along when a model is saved. */
    static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "generation_config.json", "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.model");
}
