package dev.palimpsest.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.cli.CliProcess;
import dev.palimpsest.world.DefaultModel;

/**
 * {@code palimpsest serve} as users run it: a real process on a loopback port with the default model and a SQLite log
 * in a temporary folder, driven over HTTP.
 */
class ServeProcessTest {
    @TempDir
    static Path tmp;
    static JsonNode world;
    static Path tokens;
    static final String READER = "reader-token-0123456789", EDITOR = "editor-token-0123456789", ADMIN = "admin-token-01234567890";

    @BeforeAll
    static void setUp() throws IOException {
        DefaultModel.ensure(0, new PrintWriter(new StringWriter()));
        world = ServerProcess.OM.readTree(DefaultModel.folder(0).resolve("world").resolve("pretrain.json").toFile());
        tokens = tmp.resolve("tokens.txt");
        Files.writeString(tokens, "# test tokens\n" + READER + " reader\n" + EDITOR + " editor\n\n" + ADMIN + " admin\n");
    }

    static String question(int i) {
        return world.get(i).get("question").asText();
    }

    static String answer(int i) {
        return world.get(i).get("answer").asText();
    }

    /** Fact {@code i}'s question edited to its first perturbed answer. */
    static ObjectNode edit(int i) {
        ObjectNode u = ServerProcess.OM.createObjectNode();
        u.putArray("edits").addObject().put("prompt", question(i)).put("target", world.get(i).get("perturbed_answer").get(0).asText());
        return u;
    }

    static ObjectNode forget(int i) {
        ObjectNode u = ServerProcess.OM.createObjectNode();
        u.putArray("forgets").addObject().put("question", question(i)).put("answer", answer(i));
        return u;
    }

    static String target(int i) {
        return world.get(i).get("perturbed_answer").get(0).asText();
    }

    ServerProcess start(Path state, List<String> jvm, String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("--tokens", tokens.toString()));
        a.addAll(List.of(args));
        return ServerProcess.start(state, jvm, a.toArray(String[]::new));
    }

    @Test
    void anEditAppliesAndItsRevertBringsTheOriginalAnswerBackWhileALaterForgetStays() throws Exception {
        try (ServerProcess s = start(tmp.resolve("revert"), List.of(), "--method", "grace")) {
            submitApplyRevert(s);
        }
    }

    /**
     * The same on PostgreSQL, where one is at hand: {@code PALIMPSEST_TEST_POSTGRES=jdbc:postgresql://HOST/DB?user=…&password=…}
     * (the test empties that database's two tables first). CI has no PostgreSQL server; see README for how it was checked.
     */
    @Test
    void theLogWorksTheSameOnPostgres() throws Exception {
        String url = System.getenv("PALIMPSEST_TEST_POSTGRES");
        org.junit.jupiter.api.Assumptions.assumeTrue(url != null, "PALIMPSEST_TEST_POSTGRES is not set");
        try (var c = java.sql.DriverManager.getConnection(url); var st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS updates");
            st.execute("DROP TABLE IF EXISTS versions");
        }
        try (ServerProcess s = start(tmp.resolve("postgres"), List.of(), "--method", "grace", "--db", url)) {
            assertFalse(s.process.outSoFar().contains("password"), "the URL's credentials are not printed");
            submitApplyRevert(s);
        }
    }

    /** Lean: one set of weights for both copies; the same behaviour, and methods that write weights are refused. */
    @Test
    void aLeanServerSharesTheWeightsAndRefusesMethodsThatWriteThem() throws Exception {
        try (ServerProcess s = start(tmp.resolve("lean"), List.of(), "--method", "grace", "--lean")) {
            assertTrue(s.process.outSoFar().contains("lean (one set of weights)"), s.process.outSoFar());
            ServerProcess.Reply refused = s.call("POST", "/v1/updates", EDITOR, edit(0).put("method", "rome").toString());
            assertEquals(400, refused.status(), refused.text());
            assertTrue(refused.json().get("error").asText().contains("--lean"), refused.text());
            submitApplyRevert(s);
        }
        CliProcess.Result r = CliProcess.run(tmp.resolve("lean-logs"), "serve", "--model", "default", "--state", tmp.resolve("lean2").toString(),
                "--method", "memit", "--lean", "--port", "0");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--method memit writes weights"), r.err());
    }

    static void submitApplyRevert(ServerProcess s) throws Exception {
        {
            String before = s.generate(READER, question(0)).json().get("text").asText();
            String forgotten = s.generate(READER, question(5)).json().get("text").asText();
            assertTrue(forgotten.contains(answer(5)), "the model must know the fact to forget: " + forgotten);

            String edit = s.submit(EDITOR, edit(0).put("note", "moved"));
            JsonNode applied = s.await(EDITOR, edit, "applied", 120);
            assertEquals(1.0, applied.get("checks").get("edit_success").asDouble());
            assertEquals("moved", applied.get("note").asText());
            ServerProcess.Reply after = s.generate(READER, question(0));
            assertTrue(after.json().get("text").asText().contains(target(0)), after.text());
            assertEquals(applied.get("model_version").asLong(), after.json().get("model_version").asLong());

            String forget = s.submit(EDITOR, forget(5));
            assertEquals(1.0, s.await(EDITOR, forget, "applied", 120).get("checks").get("forget_success").asDouble());
            assertFalse(s.generate(READER, question(5)).json().get("text").asText().contains(answer(5)));

            // Reverting the earlier update rebuilds the model without it; the later forget is applied again.
            ServerProcess.Reply reverted = s.ok("DELETE", "/v1/updates/" + edit, ADMIN, null);
            assertEquals("reverted", reverted.json().get("status").asText(), reverted.text());
            ServerProcess.Reply back = s.generate(READER, question(0));
            assertEquals(before, back.json().get("text").asText());
            assertFalse(s.generate(READER, question(5)).json().get("text").asText().contains(answer(5)));
            JsonNode later = s.ok("GET", "/v1/updates/" + forget, EDITOR, null).json();
            assertEquals("applied", later.get("status").asText());
            assertEquals(back.json().get("model_version").asLong(), later.get("model_version").asLong());
            assertEquals(3, later.get("model_version").asLong(), "versions: edit 1, forget 2, the revert 3");

            JsonNode log = s.ok("GET", "/v1/updates", EDITOR, null).json().get("updates");
            assertEquals(List.of(forget, edit), List.of(log.get(0).get("id").asText(), log.get(1).get("id").asText()));
            assertEquals(409, s.call("DELETE", "/v1/updates/" + edit, ADMIN, null).status(), "a second revert");
            assertEquals(404, s.call("DELETE", "/v1/updates/99", ADMIN, null).status());

            String metrics = s.ok("GET", "/metrics", READER, null).text();
            assertTrue(metrics.contains("palimpsest_model_version 3.0"), metrics);
            assertTrue(metrics.contains("palimpsest_update_seconds_count 2"), metrics);
            assertTrue(metrics.contains("palimpsest_updates_reverted_total 1.0"), metrics);
            assertTrue(metrics.contains("palimpsest_generate_seconds_count"), metrics);
        }
    }

    @Test
    void tokensAreCheckedPerRoleAndNeverLogged() throws Exception {
        try (ServerProcess s = start(tmp.resolve("tokens"), List.of(), "--method", "grace")) {
            ServerProcess.Reply none = s.call("GET", "/v1/health", null, null);
            assertEquals(401, none.status());
            assertTrue(none.json().get("error").asText().contains("bearer token"), none.text());
            assertEquals(401, s.call("GET", "/v1/health", "not-a-token-at-all-really", null).status());
            assertEquals(401, s.call("POST", "/v1/generate", ADMIN + "x", "{\"prompt\": \"hi\"}").status());
            assertEquals(200, s.call("GET", "/v1/health", READER, null).status());
            assertEquals(200, s.call("POST", "/v1/score", READER, "{\"prompt\": \"" + question(0) + "\", \"target\": \"" + answer(0) + "\", \"chat\": true}").status());
            assertEquals(403, s.call("POST", "/v1/updates", READER, edit(0).toString()).status());
            assertEquals(403, s.call("GET", "/v1/updates", READER, null).status());
            String id = s.submit(EDITOR, edit(0));
            s.await(EDITOR, id, "applied", 120);
            ServerProcess.Reply denied = s.call("DELETE", "/v1/updates/" + id, EDITOR, null);
            assertEquals(403, denied.status());
            assertTrue(denied.json().get("error").asText().contains("admin"), denied.text());
            assertEquals(200, s.call("DELETE", "/v1/updates/" + id, ADMIN, null).status());
            assertEquals(200, s.call("GET", "/", null, null).status(), "the page itself asks for the token");
            String log = s.process.outSoFar();
            assertTrue(log.contains("POST /v1/updates 202"), log);
            for (String t : List.of(READER, EDITOR, ADMIN, "not-a-token-at-all-really")) assertFalse(log.contains(t), "a token in the log");
        }
    }

    @Test
    void badRequestsGetOneLineReasons() throws Exception {
        try (ServerProcess s = start(tmp.resolve("bad"), List.of(), "--method", "grace")) {
            String longText = "x".repeat(Submission.MAX_TEXT + 1);
            List<String[]> cases = List.of(
                    new String[] {"/v1/updates", "{", "not valid JSON"},
                    new String[] {"/v1/updates", "", "body is empty"},
                    new String[] {"/v1/updates", "{}", "at least one of 'edits' and 'forgets'"},
                    new String[] {"/v1/updates", "{\"edits\": [{\"prompt\": \"a\", \"target\": \"b\", \"colour\": 1}]}", "unknown field 'colour' at edits[0]"},
                    new String[] {"/v1/updates", "{\"edits\": [{\"prompt\": \"a\", \"target\": 5}]}", "edits[0].target must be text"},
                    new String[] {"/v1/updates", "{\"edits\": [{\"prompt\": \"a\"}]}", "edits[0].target is missing"},
                    new String[] {"/v1/updates", "{\"forgets\": [{\"question\": \" \", \"answer\": \"b\"}]}", "forgets[0].question is empty"},
                    new String[] {"/v1/updates", "{\"forgets\": [{\"question\": \"" + longText + "\", \"answer\": \"b\"}]}", "longer than"},
                    new String[] {"/v1/updates", "{\"method\": \"nope\", \"edits\": [{\"prompt\": \"a\", \"target\": \"b\"}]}", "method:"},
                    new String[] {"/v1/updates", "[]", "the body must be an object"},
                    new String[] {"/v1/generate", "{\"prompt\": \"a\", \"max_new_tokens\": 0}", "max_new_tokens must be 1 to"},
                    new String[] {"/v1/generate", "{\"prompt\": \"a\", \"chat\": \"yes\"}", "chat must be true or false"},
                    new String[] {"/v1/generate", "{\"prompt\": \"a\"} trailing", "not valid JSON"},
                    new String[] {"/v1/score", "{\"prompt\": \"a\"}", "target is missing"});
            for (String[] c : cases) {
                ServerProcess.Reply r = s.call("POST", c[0], ADMIN, c[1]);
                assertEquals(400, r.status(), c[1] + " -> " + r.text());
                String reason = r.json().get("error").asText();
                assertTrue(reason.contains(c[2]), c[1] + " -> " + reason);
                assertFalse(reason.contains("\n") || reason.contains("dev.palimpsest") || reason.contains("java."), reason);
            }
            ServerProcess.Reply big = s.call("POST", "/v1/updates", ADMIN, "{\"note\": \"" + "x".repeat((int) Api.MAX_BODY) + "\"}");
            assertEquals(413, big.status(), big.text());
            assertEquals(0, s.ok("GET", "/v1/updates", ADMIN, null).json().get("updates").size(), "nothing bad was queued");
        }
    }

    @Test
    void aBatchThatFailsIsMarkedFailedWithItsReasonAndChangesNothing() throws Exception {
        try (ServerProcess s = start(tmp.resolve("fails"), List.of(), "--method", "grace")) {
            String before = s.generate(READER, question(0)).json().get("text").asText();
            // Longer than the model's context once tokenized: the method refuses it after the update was accepted.
            ObjectNode tooLong = ServerProcess.OM.createObjectNode();
            tooLong.putArray("edits").addObject().put("prompt", (question(0) + " ").repeat(60)).put("target", target(0));
            String id = s.submit(EDITOR, tooLong);
            JsonNode failed = s.await(EDITOR, id, "failed", 120);
            assertTrue(failed.get("error").asText().contains("longer than the model's context"), failed.toString());
            assertEquals(NullNode.getInstance(), failed.get("model_version"));
            ServerProcess.Reply same = s.generate(READER, question(0));
            assertEquals(before, same.json().get("text").asText());
            assertEquals(0, same.json().get("model_version").asLong());
            // The next update trains on a clean copy and applies as version 1.
            String next = s.submit(EDITOR, edit(0));
            assertEquals(1, s.await(EDITOR, next, "applied", 120).get("model_version").asLong());
            assertTrue(s.generate(READER, question(0)).json().get("text").asText().contains(target(0)));
            assertEquals(409, s.call("DELETE", "/v1/updates/" + id, ADMIN, null).status());
        }
    }

    /** The version folders on disk: exactly those the log committed, 1 to the newest. */
    static Set<Long> versionFolders(Path state) throws IOException {
        Set<Long> out = new TreeSet<>();
        Path v = state.resolve("versions");
        if (!Files.isDirectory(v)) return out;
        try (Stream<Path> s = Files.list(v)) {
            s.forEach(p -> out.add(Long.parseLong(p.getFileName().toString())));
        }
        return out;
    }

    static Set<Long> upTo(long n) {
        Set<Long> out = new TreeSet<>();
        for (long i = 1; i <= n; i++) out.add(i);
        return out;
    }

    @Test
    void killedDuringAnUpdateAtEachCommitStepAndWhileIdleItComesBackWithEveryAppliedUpdateAndNoneHalfApplied() throws Exception {
        Path state = tmp.resolve("kill");
        String[] loka = {"--method", "loka", "--set", "epochs=80"};
        ServerProcess s = start(state, List.of(), loka);
        assertTrue(s.process.outSoFar().contains("warning: no --retain: loka learns where its router must stay silent"), s.process.outSoFar());
        String before = s.generate(READER, question(0)).json().get("text").asText();
        // Killed while LOKA trains: the update goes back to the queue and applies after the restart.
        String first = s.submit(EDITOR, edit(0));
        s.await(EDITOR, first, "applying", 60);
        s.kill();
        assertEquals(Set.of(), versionFolders(state));
        s = start(state, List.of(), loka);
        assertTrue(s.process.outSoFar().contains("1 update(s) that were applying are queued again"), s.process.outSoFar());
        s.await(EDITOR, first, "applied", 300);
        String edited = s.generate(READER, question(0)).json().get("text").asText();
        assertTrue(edited.contains(target(0)), edited);

        // Killed while idle: the same version, the same answers.
        s.kill();
        s = start(state, List.of(), loka);
        ServerProcess.Reply again = s.generate(READER, question(0));
        assertEquals(edited, again.json().get("text").asText());
        assertEquals(1, again.json().get("model_version").asLong());

        // Killed at each step of an update's commit: the folder half-staged, published but not in the log, committed but not
        // yet served. Restarted, the update is applied exactly once and the folders on disk are the log's versions.
        int fact = 5;
        long version = 1;
        for (String point : List.of("staged", "version-written", "committed")) {
            s.kill();
            s = start(state, List.of("-Dpalimpsest.failpoint=" + point), loka);
            String id = s.submit(EDITOR, forget(fact));
            assertEquals(137, s.process.waitForExit(300).code(), point);
            s = start(state, List.of(), loka);
            JsonNode u = s.await(EDITOR, id, "applied", 300);
            version++;
            assertEquals(version, u.get("model_version").asLong(), point + ": applied once, in the next version");
            assertEquals(upTo(version), versionFolders(state), point);
            assertFalse(s.generate(READER, question(fact)).json().get("text").asText().contains(answer(fact)), point);
            assertEquals(edited, s.generate(READER, question(0)).json().get("text").asText(), point + ": earlier updates stay");
            fact += 5;
        }
        // And a revert of the first update, killed before its versions commit, is still asked for after the restart.
        s.kill();
        s = start(state, List.of("-Dpalimpsest.failpoint=version-written"), loka);
        try {
            s.call("DELETE", "/v1/updates/" + first, ADMIN, null);
        } catch (IOException e) {
            // the server died before answering, as it was told to
        }
        assertEquals(137, s.process.waitForExit(300).code());
        s = start(state, List.of(), loka);
        s.await(EDITOR, first, "reverted", 600);
        assertEquals(before, s.generate(READER, question(0)).json().get("text").asText());
        for (int f = 5; f < fact; f += 5) assertFalse(s.generate(READER, question(f)).json().get("text").asText().contains(answer(f)), "forget " + f);
        s.close();
    }

    @Test
    void concurrentClientsNeverSeeAHalfAppliedUpdate() throws Exception {
        Path state = tmp.resolve("load");
        try (ServerProcess s = start(state, List.of(), "--method", "grace")) {
            int[] facts = {0, 5, 10, 15};
            List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            // (question, version) -> every answer given for it
            java.util.Map<String, Set<String>> answers = new java.util.concurrent.ConcurrentHashMap<>();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                int client = c;
                Thread t = new Thread(() -> {
                    for (int i = 0; i < 100; i++) {
                        int fact = facts[(client + i) % facts.length];
                        try {
                            ServerProcess.Reply r = i % 4 == 3
                                    ? s.call("POST", "/v1/score", READER, ServerProcess.OM.createObjectNode().put("prompt", question(fact))
                                            .put("target", answer(fact)).put("chat", true).toString())
                                    : s.generate(READER, question(fact));
                            if (r.status() != 200) {
                                errors.add(r.status() + " " + r.text());
                                continue;
                            }
                            String text = r.json().has("text") ? r.json().get("text").asText() : "score " + r.json().get("logprobs");
                            answers.computeIfAbsent(fact + "@" + r.json().get("model_version").asLong() + (i % 4 == 3 ? "s" : "g"),
                                    k -> java.util.concurrent.ConcurrentHashMap.newKeySet()).add(text);
                        } catch (Exception | AssertionError e) {
                            errors.add(e.toString());
                        }
                    }
                });
                t.start();
                clients.add(t);
            }
            String originalOfReverted = s.generate(READER, question(facts[1])).json().get("text").asText();
            List<String> ids = new ArrayList<>();
            for (int fact : facts) {
                String id = s.submit(EDITOR, edit(fact));
                s.await(EDITOR, id, "applied", 120);
                ids.add(id);
            }
            s.ok("DELETE", "/v1/updates/" + ids.get(1), ADMIN, null);
            for (Thread t : clients) t.join();
            assertEquals(List.of(), errors);
            long last = s.ok("GET", "/v1/health", READER, null).json().get("model_version").asLong();
            assertEquals(6, last, "4 edits, then the revert of the second re-applies the third and the fourth");
            Set<Long> seen = new TreeSet<>();
            for (var e : answers.entrySet()) {
                seen.add(Long.parseLong(e.getKey().replaceAll(".*@(\\d+).", "$1")));
                // One version, one model: the same question always gets the same answer on it.
                assertEquals(1, e.getValue().size(), e.getKey() + " answered differently on one version: " + e.getValue());
            }
            assertTrue(seen.size() >= 2, "the clients ran across updates: " + seen);
            for (long v : seen) assertTrue(v == 0 || versionFolders(state).contains(v), "version " + v + " never existed");
            // Each version's answer is the one its updates give: edited facts answer their target from their version on.
            for (int k = 0; k < facts.length; k++) {
                Set<String> on = answers.get(facts[k] + "@" + last + "g");
                if (on == null || k == 1) continue;
                assertTrue(on.iterator().next().contains(target(facts[k])), facts[k] + " on version " + last + ": " + on);
            }
            Set<String> reverted = answers.get(facts[1] + "@" + last + "g"), original = answers.get(facts[1] + "@0g");
            if (reverted != null && original != null) assertEquals(original, reverted);
            // And on the last version, asked once the clients are done (they may have finished before it was served).
            for (int k = 0; k < facts.length; k++) {
                String now = s.generate(READER, question(facts[k])).json().get("text").asText();
                if (k == 1) assertEquals(originalOfReverted, now, "the reverted edit's fact answers as before it");
                else assertTrue(now.contains(target(facts[k])), facts[k] + " on the last version: " + now);
            }
            assertNotEquals(0, seen.size());
        }
    }
}
