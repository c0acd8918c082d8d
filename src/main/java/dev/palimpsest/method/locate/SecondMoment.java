package dev.palimpsest.method.locate;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import me.tongfei.progressbar.ProgressBar;

import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.PalimpsestHome;
import dev.palimpsest.io.Progress;
import dev.palimpsest.model.CausalLM;
import dev.palimpsest.model.DType;
import dev.palimpsest.model.ForwardInput;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.PaddedBatch;
import dev.palimpsest.model.SafeTensorsFile;
import dev.palimpsest.model.SafeTensorsWriter;
import dev.palimpsest.model.Site;
import dev.palimpsest.model.SiteHooks;
import dev.palimpsest.tensor.Tensors;

/**
 * The second moment C = E[k kᵀ] of a layer's MLP keys (the down-projection's inputs) over the tokens
 * of a text corpus: the statistic ROME, MEMIT and AlphaEdit use to keep an edit from disturbing other
 * keys. Streamed in batches (memory: one F×F accumulator in fp64 plus one batch of activations) with
 * a progress bar, and cached on disk keyed by the model's weights, the layer, the corpus and the
 * number of tokens.
 */
public final class SecondMoment {
    private SecondMoment() {}

    /** The second moment C, the number of tokens it was averaged over, and whether it came from the cache. */
    public record Moment(Tensor c, long tokens, boolean fromCache) {}

    /** C over at most {@code maxTokens} tokens of the corpus lines (each line a sequence, cut at {@code maxLen} tokens). */
    public static Moment compute(LanguageModel m, int layer, List<String> lines, int maxTokens, int batchSize, int maxLen) {
        CausalLM net = m.net();
        long f = net.linear(net.downProjection(layer)).inFeatures();
        Tensor sum = Tensors.zeros(ScalarType.Double, f, f);
        sum.retainReference();
        long tokens = 0;
        List<long[]> seqs = new ArrayList<>();
        for (String line : lines) {
            // A corpus line may be far longer than the model's context: only its first maxLen tokens count.
            long[] ids = m.tokenizer().encodePrompt(line.length() > m.tokenizer().charLimit() ? line.substring(0, (int) m.tokenizer().charLimit()) : line);
            if (ids.length == 0) continue;
            seqs.add(ids.length > maxLen ? java.util.Arrays.copyOf(ids, maxLen) : ids);
        }
        try (ProgressBar bar = Progress.bar("second moment, layer " + layer, Math.min(maxTokens, total(seqs)));
                NoGradGuard g = new NoGradGuard()) {
            for (int start = 0; start < seqs.size() && tokens < maxTokens; start += batchSize) {
                List<long[]> batch = seqs.subList(start, Math.min(seqs.size(), start + batchSize));
                try (PointerScope scope = new PointerScope()) {
                    List<Tensor> keys = new ArrayList<>();
                    SiteHooks.Handle h = net.sites().record(layer, Site.MLP_KEY, keys);
                    try {
                        net.hidden(ForwardInput.of(PaddedBatch.right(batch, m.tokenizer().padId()).ids()), null);
                    } finally {
                        h.close();
                    }
                    Tensor k = realTokens(keys.get(0), batch, maxTokens - tokens).toType(ScalarType.Double);
                    sum.add_(k.t().matmul(k));
                    tokens += k.size(0);
                    bar.stepTo(tokens);
                }
            }
        }
        if (tokens == 0) throw new dev.palimpsest.UserError("the corpus for the second-moment statistics has no tokens");
        Tensor c = sum.div(Tensors.scalar((double) tokens)).toType(ScalarType.Float);
        sum.releaseReference();
        return new Moment(c, tokens, false);
    }

    /** The keys of the real (unpadded) tokens of a right-padded batch, at most {@code limit} of them: [n, F]. */
    private static Tensor realTokens(Tensor keys, List<long[]> batch, long limit) {
        List<Long> rows = new ArrayList<>(), pos = new ArrayList<>();
        for (int b = 0; b < batch.size() && rows.size() < limit; b++)
            for (int t = 0; t < batch.get(b).length && rows.size() < limit; t++) {
                rows.add((long) b);
                pos.add((long) t);
            }
        return dev.palimpsest.model.TokenPositions.gather(keys, rows.stream().mapToLong(Long::longValue).toArray(),
                pos.stream().mapToLong(Long::longValue).toArray());
    }

    private static long total(List<long[]> seqs) {
        long n = 0;
        for (long[] s : seqs) n += s.length;
        return n;
    }

    /**
     * C from the cache, or computed and cached: {@code cacheDir/<model fingerprint>/layer<L>-<corpus hash>-<tokens>.safetensors}.
     */
    public static Moment cached(LanguageModel m, int layer, List<String> lines, int maxTokens, Path cacheDir) throws IOException {
        String corpus = sha256(String.join("\n", lines).getBytes(StandardCharsets.UTF_8)).substring(0, 16);
        Path file = cacheDir.resolve(fingerprint(m.net())).resolve("layer" + layer + "-" + corpus + "-" + maxTokens + ".safetensors");
        if (Files.isRegularFile(file)) {
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                // Files cached before the count was recorded say nothing: at most maxTokens were read.
                long tokens = Long.parseLong(f.metadata().getOrDefault("tokens", String.valueOf(maxTokens)));
                return new Moment(f.load("mom2", ScalarType.Float), tokens, true);
            }
        }
        Moment c = compute(m, layer, lines, maxTokens, 16, 256);
        Files.createDirectories(file.getParent());
        AtomicFiles.writeFile(file, tmp -> SafeTensorsWriter.write(tmp, Map.of("mom2", c.c()), DType.F32,
                Map.of("format", "pt", "tokens", String.valueOf(c.tokens()))));
        return c;
    }

    /**
     * C for a method's {@code layer} over {@code corpus}, cached under the palimpsest home's stats folder. Says which
     * text and how many of its tokens it used.
     */
    public static Tensor forMethod(String method, LanguageModel m, int layer, StatisticsCorpus corpus, int maxTokens) {
        Path dir = PalimpsestHome.root().resolve("stats");
        try {
            Moment c = cached(m, layer, corpus.lines(), maxTokens, dir);
            dev.palimpsest.io.Progress.note(String.format("%s: keys' second moment at layer %d over %d tokens of %s%s", method, layer,
                    c.tokens(), corpus.name(), c.fromCache() ? " (cached)" : ""));
            return c.c();
        } catch (IOException e) {
            throw new dev.palimpsest.UserError(method + ": cannot write the statistics cache in " + dir + " (" + e.getMessage() + ")");
        }
    }

    /** Elements sampled from each weight for the fingerprint. */
    static final int SAMPLES = 4096;

    /**
     * A hash of every weight's name, type, shape and {@value #SAMPLES} elements spread evenly over it (first and
     * last included): changes when a weight is edited, fine-tuned, merged with an adapter or converted, since
     * those change almost every element, yet reads a few MB whatever the model's size and copies no tensor whole.
     */
    public static String fingerprint(CausalLM net) {
        try (NoGradGuard g = new NoGradGuard()) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Tensor> e : net.parameters().entrySet()) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor t = e.getValue();
                    md.update((e.getKey() + " " + Tensors.dtype(t) + " " + java.util.Arrays.toString(Tensors.shape(t))).getBytes(StandardCharsets.UTF_8));
                    Tensor flat = t.reshape(-1);
                    long n = flat.numel(), step = Math.max(1, n / SAMPLES);
                    if (n == 0) continue;
                    Tensor picked = Tensors.cat(0, flat.slice(0, new LongOptional(0), new LongOptional(n), step), flat.narrow(0, n - 1, 1));
                    float[] values = Tensors.toFloats(picked.toType(ScalarType.Float));
                    ByteBuffer b = ByteBuffer.allocate(values.length * 4);
                    for (float v : values) b.putFloat(v);
                    md.update(b.array());
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
