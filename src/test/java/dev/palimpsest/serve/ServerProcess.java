package dev.palimpsest.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.palimpsest.cli.CliProcess;

/** A {@code palimpsest serve} process on a loopback port, and an HTTP client for it. */
final class ServerProcess implements AutoCloseable {
    static final ObjectMapper OM = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

    final CliProcess process;
    final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ServerProcess(CliProcess process, int port) {
        this.process = process;
        this.port = port;
    }

    /** A response: the status, the body parsed (null when it is not JSON) and as text. */
    record Reply(int status, JsonNode json, String text) {}

    /** Starts {@code serve --model default --port 0 --state STATE --batch-window 0 ARGS…} and waits until it listens. */
    static ServerProcess start(Path state, List<String> jvm, String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("serve", "--model", "default", "--port", "0", "--state", state.toString(), "--batch-window", "0"));
        a.addAll(List.of(args));
        CliProcess p = CliProcess.start(state.resolveSibling(state.getFileName() + "-logs"), jvm, a.toArray(String[]::new));
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(p.outSoFar());
            if (m.find()) return new ServerProcess(p, Integer.parseInt(m.group(1)));
            if (!p.alive()) {
                CliProcess.Result r = p.waitFor();
                throw new AssertionError("serve exited with " + r.code() + ": " + r.err() + r.out());
            }
            Thread.sleep(100);
        }
        p.kill();
        throw new AssertionError("serve did not listen within 180 s: " + p.outSoFar());
    }

    Reply call(String method, String path, String token, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(300));
        if (token != null) b.header("Authorization", "Bearer " + token);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
            json = OM.readTree(r.body());
        } catch (IOException e) {
            json = null;
        }
        return new Reply(r.statusCode(), json, r.body());
    }

    Reply ok(String method, String path, String token, String body) throws IOException, InterruptedException {
        Reply r = call(method, path, token, body);
        assertEquals(true, r.status() == 200 || r.status() == 202, method + " " + path + ": " + r.status() + " " + r.text());
        return r;
    }

    /** The greedy answer to {@code question} asked in the chat template. */
    Reply generate(String token, String question) throws IOException, InterruptedException {
        return ok("POST", "/v1/generate", token, OM.createObjectNode().put("prompt", question).put("chat", true).put("max_new_tokens", 16).toString());
    }

    String submit(String token, JsonNode update) throws IOException, InterruptedException {
        Reply r = call("POST", "/v1/updates", token, update.toString());
        assertEquals(202, r.status(), r.text());
        assertEquals("queued", r.json().get("status").asText());
        return r.json().get("id").asText();
    }

    /** Polls an update until it has {@code status} (fails on failed, or after {@code seconds}). */
    JsonNode await(String token, String id, String status, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        JsonNode u = null;
        while (System.nanoTime() < deadline) {
            u = ok("GET", "/v1/updates/" + id, token, null).json();
            if (u.get("status").asText().equals(status)) return u;
            if (u.get("status").asText().equals("failed") && !status.equals("failed")) throw new AssertionError("update " + id + " failed: " + u);
            Thread.sleep(50);
        }
        throw new AssertionError("update " + id + " not " + status + " after " + seconds + " s: " + u);
    }

    /** kill -9, and waits until the process is gone (its lock on the state folder with it). */
    void kill() throws IOException, InterruptedException {
        process.kill();
        process.waitForExit(60);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process.alive()) {
            process.terminate();
            process.waitFor();
        }
    }
}
