package dev.palimpsest.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.data.QaItem;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.serve.AccessTokens;
import dev.palimpsest.serve.Service;

/**
 * {@code bench serve}: the service in this process on a loopback port, loaded by concurrent HTTP clients asking the
 * world's questions ({@code POST /v1/generate}, greedy, chat template): latency percentiles and throughput with the
 * service idle, then while one update (edits and forgets of the world's facts) trains and publishes beside them; and
 * whether the update took (its checks) while other questions kept their answers.
 */
public final class ServeBench {
    private ServeBench() {}

    public record Phase(int requests, double p50Ms, double p99Ms, double maxMs, double perSecond) {}

    public record Result(String model, String method, int clients, int maxNewTokens, Phase idle, Phase updating, int updateRequests,
            double updateSeconds, JsonNode checks, int retain, int others, double unchanged, long versionBytes, long checkpointBytes,
            long peakResidentBytes) {}

    private record Timed(long start, long end) {}

    public static Result run(Path modelDir, Supplier<LanguageModel> loader, JsonNode facts, String method, Map<String, String> settings,
            int clients, int perClient, int edits, int forgets, int retainCount, int maxNewTokens, boolean lean, PrintWriter out) throws Exception {
        Path state = Files.createTempDirectory("palimpsest-bench-serve");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        // The facts in a fixed shuffle: the update's first, then the standing retain questions, then the questions whose answers
        // should not change (the update names none of their subjects' facts, though it may name their subjects).
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < facts.size(); i++) order.add(i);
        Collections.shuffle(order, new Random(0));
        int n = Math.min(edits + forgets, order.size()), r = Math.min(retainCount, order.size() - n);
        List<QaItem> retain = new ArrayList<>();
        for (int i = n; i < n + r; i++)
            retain.add(new QaItem(null, facts.get(order.get(i)).get("question").asText(), facts.get(order.get(i)).get("answer").asText(), List.of(), null,
                    List.of(), null));
        List<Integer> others = order.subList(n + r, Math.min(order.size(), n + r + 100));
        try (Service s = Service.start(new Service.Options(loader, modelDir.toString(), state, state.resolve("log.sqlite").toString(),
                AccessTokens.none(), method, settings, retain, 0, 64, "127.0.0.1", 0, lean), quiet)) {
            String base = "http://127.0.0.1:" + s.port();
            HttpClient http = HttpClient.newHttpClient();
            List<String> questions = new ArrayList<>();
            facts.forEach(f -> questions.add(f.get("question").asText()));

            out.printf("bench serve: %s, %d clients, generate %d tokens; idle ...%n", modelDir.getFileName(), clients, maxNewTokens);
            out.flush();
            List<Timed> idle = load(http, base, questions, clients, perClient, maxNewTokens, new AtomicBoolean(false));
            long idleStart = idle.stream().mapToLong(Timed::start).min().getAsLong(), idleEnd = idle.stream().mapToLong(Timed::end).max().getAsLong();
            Phase quietPhase = phase(idle, idleStart, idleEnd);
            out.printf("  idle: p50 %.1f ms, p99 %.1f ms, %.1f requests/s%n", quietPhase.p50Ms(), quietPhase.p99Ms(), quietPhase.perSecond());

            // One update of distinct facts, then the same load until it is applied; only requests that ended while it applied count.
            List<String> before = answers(http, base, facts, others, maxNewTokens);
            ObjectNode update = Json.MAPPER.createObjectNode();
            ArrayNode e = update.putArray("edits"), f = update.putArray("forgets");
            for (int i = 0; i < n; i++) {
                JsonNode x = facts.get(order.get(i));
                if (i < edits) e.addObject().put("prompt", x.get("question").asText()).put("target", x.get("perturbed_answer").get(0).asText());
                else f.addObject().put("question", x.get("question").asText()).put("answer", x.get("answer").asText());
            }
            out.printf("  updating: %s with %d edits and %d forgets ...%n", method, e.size(), f.size());
            out.flush();
            AtomicBoolean applied = new AtomicBoolean(false);
            long[] appliedAt = {0};
            long t0 = System.nanoTime();
            String id = Json.MAPPER.readTree(post(http, base + "/v1/updates", update.toString())).get("id").asText();
            Thread watcher = new Thread(() -> {
                try {
                    while (true) {
                        String status = Json.MAPPER.readTree(get(http, base + "/v1/updates/" + id)).get("status").asText();
                        if (!status.equals("queued") && !status.equals("applying")) break;
                        Thread.sleep(20);
                    }
                } catch (Exception x) {
                    // the clients stop below either way
                }
                appliedAt[0] = System.nanoTime();
                applied.set(true);
            });
            watcher.start();
            List<Timed> during = load(http, base, questions, clients, Integer.MAX_VALUE, maxNewTokens, applied);
            watcher.join();
            double updateSeconds = (appliedAt[0] - t0) / 1e9;
            Phase busy = phase(during.stream().filter(t -> t.end() <= appliedAt[0]).toList(), t0, appliedAt[0]);
            out.printf("  while updating (%.1f s): p50 %.1f ms, p99 %.1f ms, %.1f requests/s%n", updateSeconds, busy.p50Ms(), busy.p99Ms(), busy.perSecond());
            JsonNode record = Json.MAPPER.readTree(get(http, base + "/v1/updates/" + id));
            if (!record.get("status").asText().equals("applied")) throw new IllegalStateException("bench serve: the update " + record.get("status").asText()
                    + (record.has("error") ? ": " + record.get("error").asText() : ""));
            List<String> after = answers(http, base, facts, others, maxNewTokens);
            // Split by whether the question is about a person or company the update named: those are the update's neighbours.
            java.util.Set<String> named = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) named.add(facts.get(order.get(i)).path("entity").asText());
            int same = 0, near = 0, nearSame = 0;
            for (int i = 0; i < before.size(); i++) {
                boolean kept = before.get(i).equals(after.get(i));
                if (kept) same++;
                if (named.contains(facts.get(others.get(i)).path("entity").asText())) {
                    near++;
                    if (kept) nearSame++;
                }
            }
            double unchanged = before.isEmpty() ? Double.NaN : same / (double) before.size();
            out.printf("  checks %s; %d of %d other questions answered as before: %d of %d about other entities, %d of %d about the update's (retain: %d questions)%n",
                    record.get("checks"), same, before.size(), same - nearSame, before.size() - near, nearSame, near, r);
            long checkpoint = ModelBench.weightBytes(modelDir);
            long versionBytes = 0;
            try (var walk = Files.walk(state.resolve("versions").resolve("1"))) {
                for (Path p : walk.filter(Files::isRegularFile).toList()) versionBytes += Files.size(p);
            }
            return new Result(modelDir.toString(), method, clients, maxNewTokens, quietPhase, busy, e.size() + f.size(), updateSeconds,
                    record.get("checks"), r, before.size(), unchanged, versionBytes, checkpoint, PeakMemory.peakBytes());
        } finally {
            AtomicFiles.deleteTree(state);
        }
    }

    private static List<String> answers(HttpClient http, String base, JsonNode facts, List<Integer> which, int maxNewTokens) throws IOException, InterruptedException {
        List<String> out = new ArrayList<>();
        for (int i : which)
            out.add(Json.MAPPER.readTree(post(http, base + "/v1/generate", Json.MAPPER.createObjectNode().put("prompt", facts.get(i).get("question").asText())
                    .put("chat", true).put("max_new_tokens", maxNewTokens).toString())).get("text").asText());
        return out;
    }

    /** {@code clients} threads asking questions until each has asked {@code perClient} or {@code stop} is set. */
    private static List<Timed> load(HttpClient http, String base, List<String> questions, int clients, int perClient, int maxNewTokens,
            AtomicBoolean stop) throws InterruptedException {
        List<Timed> done = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Random pick = new Random(c);
            Thread t = new Thread(() -> {
                for (int i = 0; i < perClient && !stop.get(); i++) {
                    String body = Json.MAPPER.createObjectNode().put("prompt", questions.get(pick.nextInt(questions.size()))).put("chat", true)
                            .put("max_new_tokens", maxNewTokens).toString();
                    long a = System.nanoTime();
                    try {
                        post(http, base + "/v1/generate", body);
                    } catch (Exception x) {
                        throw new IllegalStateException("bench serve: a generate request failed: " + x.getMessage(), x);
                    }
                    done.add(new Timed(a, System.nanoTime()));
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        return done;
    }

    private static Phase phase(List<Timed> requests, long from, long to) {
        double[] ms = requests.stream().mapToDouble(t -> (t.end() - t.start()) / 1e6).sorted().toArray();
        if (ms.length == 0) return new Phase(0, Double.NaN, Double.NaN, Double.NaN, 0);
        return new Phase(ms.length, pct(ms, 0.50), pct(ms, 0.99), ms[ms.length - 1], ms.length / ((to - from) / 1e9));
    }

    private static double pct(double[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    private static String post(HttpClient http, String url, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) throw new IOException(r.statusCode() + " " + r.body());
        return r.body();
    }

    private static String get(HttpClient http, String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
