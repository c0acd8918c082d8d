package dev.palimpsest.model;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import dev.palimpsest.UserError;
import dev.palimpsest.io.FolderSnapshot;

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
    /** The model's config: ids at or past its vocab_size have no embedding; its context bounds any input. */
    private final ModelConfig config;
    private final Path configFile;
    /** Text longer than this cannot fit the context, whatever it says: refused before tokenizing. */
    private final long charLimit;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Long> specialIds, Long bosId, Set<Long> eosIds, long padId,
            boolean addBos, ChatTemplate chatTemplate, ModelConfig config, Path configFile, long charLimit) {
        this.config = config;
        this.configFile = configFile;
        this.charLimit = charLimit;
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
        try (FolderSnapshot snap = FolderSnapshot.open(dir, "a model directory")) {
            return load(snap, config);
        }
    }

    /** Loads the tokenizer from an open model folder. */
    public static Tokenizer load(FolderSnapshot dir, ModelConfig config) {
        Path tj = dir.path("tokenizer.json");
        if (!dir.has("tokenizer.json")) throw new UserError(dir.dir() + ": missing tokenizer.json");
        ObjectMapper om = new ObjectMapper();
        byte[] tokBytes = dir.bytes("tokenizer.json");
        JsonNode tokJson = parseJson(om, tokBytes, tj);
        int longestToken = checkVocabulary(tokJson, tj, config);
        Map<String, Long> special = new TreeMap<>();
        for (JsonNode t : tokJson.path("added_tokens")) special.put(t.path("content").asText(), t.path("id").asLong());
        Path tcPath = dir.path("tokenizer_config.json");
        JsonNode tc = dir.has("tokenizer_config.json") ? parseJson(om, dir.bytes("tokenizer_config.json"), tcPath) : om.createObjectNode();
        JsonNode gc = dir.has("generation_config.json")
                ? parseJson(om, dir.bytes("generation_config.json"), dir.path("generation_config.json")) : om.createObjectNode();

        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokBytes),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
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
        Path templateSource = tcPath;
        if (template == null && dir.has("chat_template.jinja")) {
            template = dir.text("chat_template.jinja");
            templateSource = dir.path("chat_template.jinja");
        }
        // No token covers more characters than its vocabulary entry (twice that, for normalisers that shrink text).
        long charLimit = Math.max(4096L, 2L * longestToken * config.maxPositions());
        return new Tokenizer(hf, special, bos, eos, pad, addBos, ChatTemplate.of(template, templateSource.toString(), bosText, eosText), config,
                dir.path("config.json"), charLimit);
    }

    /**
     * Token ids of text, no special tokens added. An id the model has no embedding for is an error, and so
     * is text too long for the model's context by its length alone (tokenizing megabytes takes minutes).
     */
    public long[] encode(String text) {
        if (text.isEmpty()) return new long[0];
        if (text.length() > charLimit)
            throw new UserError("text '" + UserError.quote(text) + "' is " + text.length() + " characters, more than the model's context of "
                    + config.maxPositions() + " tokens can hold (" + config.contextField() + " in config.json)");
        long[] ids = hf.encode(text, false, false).getIds();
        for (long id : ids)
            if (id >= config.vocabSize())
                throw new UserError(configFile + ": vocab_size is " + config.vocabSize() + " but the tokenizer gives token " + id + " ('"
                        + tokenText(id) + "') for '" + UserError.quote(text) + "'; the tokenizer does not belong to these weights");
        return ids;
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

    /** The longest text {@link #encode} accepts, in characters. */
    public long charLimit() {
        return charLimit;
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

    static JsonNode parseJson(ObjectMapper om, byte[] bytes, Path p) {
        try {
            JsonNode n = om.readTree(bytes);
            if (n == null || n.isMissingNode()) throw new UserError(p + ": empty; expected a JSON object");
            return n;
        } catch (IOException e) {
            throw new UserError(p + ": not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
    }

    /**
     * Every id of the tokenizer's own vocabulary must have an embedding row. (Added tokens are checked
     * when they are produced: some checkpoints list added tokens they never use past vocab_size.)
     */
    private static int checkVocabulary(JsonNode tokJson, Path file, ModelConfig config) {
        JsonNode vocab = tokJson.path("model").path("vocab");
        long max = -1;
        String word = null;
        int longest = 1;
        if (vocab.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = vocab.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                longest = Math.max(longest, e.getKey().length());
                if (e.getValue().asLong() > max) {
                    max = e.getValue().asLong();
                    word = e.getKey();
                }
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1; // unigram: the position is the id
            word = vocab.path(vocab.size() - 1).path(0).asText();
            for (JsonNode piece : vocab) longest = Math.max(longest, piece.path(0).asText("").length());
        }
        for (JsonNode t : tokJson.path("added_tokens")) longest = Math.max(longest, t.path("content").asText("").length());
        if (max >= config.vocabSize())
            throw new UserError(file + ": token '" + word + "' has id " + max + " but config.json's vocab_size is "
                    + config.vocabSize() + "; the tokenizer does not belong to these weights");
        return longest;
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
