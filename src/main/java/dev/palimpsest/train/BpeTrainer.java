package dev.palimpsest.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Trains a byte-level BPE tokenizer (the GPT-2 scheme) and writes it as a Hugging Face
 * {@code tokenizer.json}. Text is split by GPT-2's pre-tokenization pattern, every byte is mapped to
 * a printable character, and the most frequent adjacent pair is merged until the vocabulary is full
 * (ties: the pair that sorts first). All 256 bytes are in the vocabulary, so any text encodes.
 * (No maintained JVM library trains tokenizers; the Rust binding we use only loads them.)
 */
public final class BpeTrainer {
    /** GPT-2's pre-tokenization pattern, as the Hugging Face ByteLevel pre-tokenizer applies it. */
    static final Pattern PRETOKEN = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private BpeTrainer() {}

    /** The trained vocabulary (token → id, specials first, then bytes, then merges) and merges in rank order. */
    public record Result(Map<String, Integer> vocab, List<String[]> merges, List<String> specials) {
        /** The tokenizer.json text. */
        public String toJson() {
            ObjectMapper om = new ObjectMapper();
            ObjectNode t = om.createObjectNode();
            t.put("version", "1.0");
            t.putNull("truncation");
            t.putNull("padding");
            ArrayNode added = t.putArray("added_tokens");
            for (String s : specials) {
                ObjectNode a = added.addObject();
                a.put("id", vocab.get(s));
                a.put("content", s);
                a.put("single_word", false);
                a.put("lstrip", false);
                a.put("rstrip", false);
                a.put("normalized", false);
                a.put("special", true);
            }
            t.putNull("normalizer");
            ObjectNode pre = t.putObject("pre_tokenizer");
            pre.put("type", "ByteLevel");
            pre.put("add_prefix_space", false);
            pre.put("trim_offsets", true);
            pre.put("use_regex", true);
            ObjectNode post = t.putObject("post_processor");
            post.put("type", "ByteLevel");
            post.put("add_prefix_space", false);
            post.put("trim_offsets", false);
            post.put("use_regex", true);
            ObjectNode dec = t.putObject("decoder");
            dec.put("type", "ByteLevel");
            dec.put("add_prefix_space", false);
            dec.put("trim_offsets", true);
            dec.put("use_regex", true);
            ObjectNode model = t.putObject("model");
            model.put("type", "BPE");
            model.putNull("dropout");
            model.putNull("unk_token");
            model.putNull("continuing_subword_prefix");
            model.putNull("end_of_word_suffix");
            model.put("fuse_unk", false);
            model.put("byte_fallback", false);
            model.put("ignore_merges", false);
            ObjectNode v = model.putObject("vocab");
            vocab.forEach(v::put);
            ArrayNode m = model.putArray("merges");
            for (String[] pair : merges) m.add(pair[0] + " " + pair[1]);
            try {
                return om.writerWithDefaultPrettyPrinter().writeValueAsString(t);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Segments one pre-token (already byte-mapped) by applying the merges in rank order. */
        public List<String> segment(String mapped) {
            List<String> symbols = new ArrayList<>();
            mapped.codePoints().forEach(c -> symbols.add(new String(Character.toChars(c))));
            Map<String, Integer> rank = new HashMap<>();
            for (int i = 0; i < merges.size(); i++) rank.putIfAbsent(merges.get(i)[0] + " " + merges.get(i)[1], i);
            while (true) {
                int best = -1, bestRank = Integer.MAX_VALUE;
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    Integer r = rank.get(symbols.get(i) + " " + symbols.get(i + 1));
                    if (r != null && r < bestRank) {
                        bestRank = r;
                        best = i;
                    }
                }
                if (best < 0) return symbols;
                symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
            }
        }
    }

    /** Trains on the given lines up to {@code vocabSize} tokens (special tokens included). */
    public static Result train(List<String> lines, int vocabSize, List<String> specials) {
        String[] byteChar = byteToChar();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : specials) vocab.put(s, vocab.size());
        List<String> alphabet = new ArrayList<>(List.of(byteChar));
        alphabet.sort(null);
        for (String c : alphabet) vocab.putIfAbsent(c, vocab.size());
        if (vocabSize < vocab.size()) throw new IllegalArgumentException("vocabulary size " + vocabSize + " is smaller than the byte alphabet");

        // Distinct pre-tokens with their counts, each as a list of symbols.
        Map<String, Integer> counts = new TreeMap<>();
        for (String line : lines) {
            Matcher m = PRETOKEN.matcher(line);
            while (m.find()) counts.merge(mapBytes(m.group(), byteChar), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        int[] freq = new int[counts.size()];
        int w = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            List<String> syms = new ArrayList<>();
            e.getKey().codePoints().forEach(c -> syms.add(new String(Character.toChars(c))));
            words.add(syms);
            freq[w++] = e.getValue();
        }
        List<String[]> merges = new ArrayList<>();
        while (vocab.size() < vocabSize) {
            Map<String, Integer> pairs = new HashMap<>();
            for (int i = 0; i < words.size(); i++) {
                List<String> s = words.get(i);
                for (int j = 0; j + 1 < s.size(); j++) pairs.merge(s.get(j) + " " + s.get(j + 1), freq[i], Integer::sum);
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null || bestCount < 2) break; // nothing left worth merging
            int sp = best.indexOf(' ');
            String a = best.substring(0, sp), b = best.substring(sp + 1), ab = a + b;
            merges.add(new String[] {a, b});
            vocab.putIfAbsent(ab, vocab.size());
            for (List<String> s : words) {
                for (int j = 0; j + 1 < s.size(); j++) {
                    if (s.get(j).equals(a) && s.get(j + 1).equals(b)) {
                        s.set(j, ab);
                        s.remove(j + 1);
                    }
                }
            }
        }
        return new Result(vocab, merges, specials);
    }

    /** Maps a string's UTF-8 bytes to the printable characters GPT-2's byte-level scheme uses. */
    public static String mapBytes(String text, String[] byteChar) {
        StringBuilder sb = new StringBuilder();
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) sb.append(byteChar[b & 0xFF]);
        return sb.toString();
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to code points from 256 up. */
    public static String[] byteToChar() {
        String[] out = new String[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = new String(Character.toChars(printable ? b : 256 + next++));
        }
        return out;
    }
}
