package dev.palimpsest.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;

import dev.palimpsest.UserError;
import dev.palimpsest.io.Json;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.UpdateMethod;
import dev.palimpsest.model.Generator;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.model.Scorer;

/**
 * The HTTP API and the page, on Javalin: JSON in and out, bearer tokens checked per route, one access-log line per
 * request (method, path, status, milliseconds; never a header or a body).
 */
public final class Api {
    /** The longest a request body may be. */
    public static final long MAX_BODY = 1 << 20;
    public static final int MAX_NEW_TOKENS = 512;
    /** How long DELETE waits for its revert before answering 202 with the update as it stands. */
    static final long REVERT_WAIT_SECONDS = 600;

    private static final ObjectMapper STRICT = strict();

    /** Unknown fields, trailing text and a value of the wrong kind (5 for a text, "true" for a flag) are errors, not guesses. */
    private static ObjectMapper strict() {
        ObjectMapper om = JsonMapper.builder().disable(MapperFeature.ALLOW_COERCION_OF_SCALARS).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES).build();
        om.coercionConfigFor(LogicalType.Textual).setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail).setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        return om;
    }

    record GenerateBody(String prompt, Boolean chat, @JsonProperty("max_new_tokens") Integer maxNewTokens) {}

    record ScoreBody(String prompt, String target, Boolean chat) {}

    private final UpdateLog log;
    private final LiveModel live;
    private final Updater updater;
    private final AccessTokens tokens;
    private final ServiceMetrics metrics;
    private final String defaultMethod, modelName;
    private final PrintStream accessLog;

    public Api(UpdateLog log, LiveModel live, Updater updater, AccessTokens tokens, ServiceMetrics metrics, String defaultMethod,
            String modelName, PrintStream accessLog) {
        this.log = log;
        this.live = live;
        this.updater = updater;
        this.tokens = tokens;
        this.metrics = metrics;
        this.defaultMethod = defaultMethod;
        this.modelName = modelName;
        this.accessLog = accessLog;
    }

    /** Starts the server on {@code host:port} (0: any free port) and returns it. */
    public Javalin start(String host, int port) {
        Javalin app = Javalin.create(cfg -> configure(cfg, host, port));
        return app.start();
    }

    private void configure(JavalinConfig cfg, String host, int port) {
        cfg.jetty.host = host;
        cfg.jetty.port = port;
        cfg.http.maxRequestSize = MAX_BODY;
        cfg.startup.showJavalinBanner = false;
        cfg.startup.showOldJavalinVersionWarning = false;
        cfg.requestLogger.http((ctx, ms) -> accessLog.printf("%s %s %s %d %.1fms%n", Instant.now(), ctx.method(), ctx.path(),
                ctx.status().getCode(), ms));
        var r = cfg.routes;
        r.get("/", ctx -> page(ctx));
        r.get("/v1/health", as(Role.READER, ctx -> json(ctx, 200, health())));
        r.get("/metrics", as(Role.READER, ctx -> {
            metrics.modelVersion.set(live.version());
            metrics.queueLength.set(log.count(UpdateLog.Status.QUEUED));
            ctx.contentType(ServiceMetrics.contentType()).result(metrics.text());
        }));
        r.post("/v1/generate", as(Role.READER, this::generate));
        r.post("/v1/score", as(Role.READER, this::score));
        r.post("/v1/updates", as(Role.EDITOR, this::submit));
        r.get("/v1/updates", as(Role.EDITOR, this::list));
        r.get("/v1/updates/{id}", as(Role.EDITOR, ctx -> json(ctx, 200, view(find(ctx)))));
        r.delete("/v1/updates/{id}", as(Role.ADMIN, this::revert));
        r.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.getMessage()));
        r.exception(UserError.class, (e, ctx) -> error(ctx, 400, Updater.oneLine(e)));
        r.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), Updater.oneLine(e)));
        r.exception(Exception.class, (e, ctx) -> {
            accessLog.println(Instant.now() + " internal error on " + ctx.method() + " " + ctx.path() + ": " + e.getClass().getSimpleName()
                    + ": " + Updater.oneLine(e));
            error(ctx, 500, "internal error: " + e.getClass().getSimpleName());
        });
        r.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().startsWith("{")) error(ctx, 404, "no such path: " + ctx.method() + " " + ctx.path());
        });
        r.error(405, ctx -> error(ctx, 405, ctx.method() + " is not allowed on " + ctx.path()));
    }

    /** Wraps a handler with the token check: 401 without a known token, 403 when its role is too weak. */
    private Handler as(Role needed, Handler h) {
        return ctx -> {
            String header = ctx.header("Authorization");
            String token = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : null;
            Role role = tokens.roleOf(token);
            if (role == null) {
                ctx.header("WWW-Authenticate", "Bearer");
                throw new ApiError(401, token == null ? "a bearer token is required (Authorization: Bearer TOKEN)" : "the bearer token is not valid");
            }
            if (!role.allows(needed)) throw new ApiError(403, "this needs the " + needed.word() + " role; the token has " + role.word());
            h.handle(ctx);
        };
    }

    private Map<String, Object> health() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("status", "ok");
        o.put("model", modelName);
        o.put("model_version", live.version());
        o.put("method", defaultMethod);
        o.put("queued", log.count(UpdateLog.Status.QUEUED));
        return o;
    }

    private void generate(Context ctx) {
        long t0 = System.nanoTime();
        GenerateBody b = parse(ctx.body(), GenerateBody.class);
        Submission.text("prompt", b.prompt(), true);
        int max = b.maxNewTokens() == null ? 64 : b.maxNewTokens();
        if (max < 1 || max > MAX_NEW_TOKENS) throw new ApiError(400, "max_new_tokens must be 1 to " + MAX_NEW_TOKENS + ", got " + max);
        boolean chat = b.chat() != null && b.chat();
        LiveModel.Versioned<Generator.Generation> g = live.read(m -> Generator.greedy(m, List.of(prompt(m, b.prompt(), chat)), max, 1).get(0));
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("text", g.value().text());
        o.put("tokens", g.value().tokens());
        o.put("model_version", g.version());
        json(ctx, 200, o);
        metrics.generateSeconds.observe((System.nanoTime() - t0) / 1e9);
    }

    private void score(Context ctx) {
        long t0 = System.nanoTime();
        ScoreBody b = parse(ctx.body(), ScoreBody.class);
        Submission.text("prompt", b.prompt(), true);
        Submission.text("target", b.target(), true);
        boolean chat = b.chat() != null && b.chat();
        LiveModel.Versioned<Scorer.Scored> s = live.read(m -> Scorer.score(m, List.of(prompt(m, b.prompt(), chat)), List.of(b.target()), 1).get(0));
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("target_tokens", s.value().targetIds());
        o.put("logprobs", s.value().logprobs());
        o.put("model_version", s.version());
        json(ctx, 200, o);
        metrics.scoreSeconds.observe((System.nanoTime() - t0) / 1e9);
    }

    private static String prompt(LanguageModel m, String prompt, boolean chat) {
        return chat ? m.questionFormat().prompt(prompt) : prompt;
    }

    private void submit(Context ctx) throws JsonProcessingException {
        Submission s = parse(ctx.body(), Submission.class);
        s.validate();
        String method = s.method() == null ? defaultMethod : s.method();
        UpdateMethod m;
        try {
            m = MethodRegistry.get(method);
        } catch (UserError e) {
            throw new ApiError(400, "method: " + Updater.oneLine(e));
        }
        if (live.lean() && !m.keepsWeights())
            throw new ApiError(400, "method: " + method + " writes weights, and this server shares one set between its copies (--lean); use loka, grace or wise");
        // What is stored is the submission as the service read it: the method resolved, the note beside it.
        Submission stored = new Submission(null, s.edits(), s.forgets(), s.retain(), null);
        long id = log.enqueue(method, Json.MAPPER.writeValueAsString(stored), s.note());
        updater.wake();
        json(ctx, 202, Map.of("id", Long.toString(id), "status", UpdateLog.Status.QUEUED.word()));
    }

    private void list(Context ctx) {
        int limit = intParam(ctx, "limit", 50, 1, 500);
        long before = intParam(ctx, "before", 0, 0, Integer.MAX_VALUE);
        List<UpdateLog.Entry> page = log.page(limit, before);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("updates", page.stream().map(Api::view).toList());
        o.put("next", page.size() == limit ? Long.toString(page.get(page.size() - 1).id()) : null);
        json(ctx, 200, o);
    }

    private void revert(Context ctx) throws InterruptedException {
        UpdateLog.Entry e = find(ctx);
        switch (e.status()) {
            case QUEUED -> {
                if (log.cancelQueued(e.id())) {
                    json(ctx, 200, view(log.get(e.id())));
                    return;
                }
                throw new ApiError(409, "update " + e.id() + " started applying; revert it once it has applied");
            }
            case APPLYING -> throw new ApiError(409, "update " + e.id() + " is applying; revert it once it has applied");
            case FAILED -> throw new ApiError(409, "update " + e.id() + " failed and changed nothing");
            case REVERTED -> throw new ApiError(409, "update " + e.id() + " is already reverted");
            case APPLIED -> {
                var outcome = updater.revertOutcome(e.id());
                if (!log.requestRevert(e.id())) {
                    // Reverted (or re-applied) in the meantime by another request: say how it stands now.
                    UpdateLog.Entry now = log.get(e.id());
                    throw new ApiError(409, "update " + e.id() + " is " + now.status().word() + " now");
                }
                updater.wake();
                try {
                    json(ctx, 200, view(outcome.get(REVERT_WAIT_SECONDS, TimeUnit.SECONDS)));
                } catch (ExecutionException x) {
                    throw x.getCause() instanceof ApiError a ? a : new ApiError(500, Updater.oneLine(x.getCause()));
                } catch (TimeoutException x) {
                    json(ctx, 202, view(log.get(e.id())));
                }
            }
        }
    }

    private UpdateLog.Entry find(Context ctx) {
        String raw = ctx.pathParam("id");
        long id;
        try {
            id = Long.parseLong(raw);
        } catch (NumberFormatException x) {
            throw new ApiError(404, "no update " + raw);
        }
        UpdateLog.Entry e = log.get(id);
        if (e == null) throw new ApiError(404, "no update " + id);
        return e;
    }

    /** An update as the API shows it. */
    static Map<String, Object> view(UpdateLog.Entry e) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", Long.toString(e.id()));
        o.put("status", e.status().word());
        o.put("method", e.method());
        Submission s = parse(e.body(), Submission.class);
        o.put("requests", s.size());
        o.put("edits", s.edits());
        o.put("forgets", s.forgets());
        o.put("note", e.note());
        o.put("created", e.created());
        o.put("applied", e.applied());
        o.put("model_version", e.version());
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("edit_success", null);
        checks.put("forget_success", null);
        if (e.checks() != null && e.status() != UpdateLog.Status.REVERTED) {
            JsonNode c = parse(e.checks(), JsonNode.class);
            if (c.has("edit_success")) checks.put("edit_success", c.get("edit_success").asDouble());
            if (c.has("forget_success")) checks.put("forget_success", c.get("forget_success").asDouble());
        }
        o.put("checks", checks);
        if (e.revertRequested()) o.put("revert_requested", true);
        if (e.error() != null) o.put("error", e.error());
        return o;
    }

    /** Reads a body strictly; any problem is a 400 naming the field, in one line. */
    static <T> T parse(String body, Class<T> type) {
        if (body == null || body.isBlank()) throw new ApiError(400, "the body is empty; expected a JSON object");
        try {
            return STRICT.readValue(body, type);
        } catch (UnrecognizedPropertyException e) {
            throw new ApiError(400, "unknown field '" + e.getPropertyName() + "'" + at(e.getPath().subList(0, e.getPath().size() - 1)));
        } catch (MismatchedInputException e) {
            String where = at(e.getPath());
            throw new ApiError(400, (where.isEmpty() ? "the body" : where.substring(4)) + " must be " + kind(e.getTargetType()));
        } catch (JsonProcessingException e) {
            var l = e.getLocation();
            throw new ApiError(400, "not valid JSON: " + brief(e) + (l == null ? "" : " (line " + l.getLineNr() + ", column " + l.getColumnNr() + ")"));
        }
    }

    private static String at(List<com.fasterxml.jackson.databind.JsonMappingException.Reference> refs) {
        StringBuilder path = new StringBuilder();
        for (var ref : refs) {
            if (ref.getFieldName() != null) path.append(path.length() == 0 ? "" : ".").append(ref.getFieldName());
            else if (ref.getIndex() >= 0) path.append('[').append(ref.getIndex()).append(']');
        }
        return path.length() == 0 ? "" : " at " + path;
    }

    /** What a value of {@code type} looks like in JSON, for an error line. */
    private static String kind(Class<?> type) {
        if (type == null) return "of another type";
        if (type == String.class) return "text";
        if (type == Boolean.class || type == boolean.class) return "true or false";
        if (type == Integer.class || type == int.class || type == Long.class) return "an integer";
        if (List.class.isAssignableFrom(type)) return "an array";
        return "an object";
    }

    /** Jackson's message without its source excerpt and location (given separately). */
    private static String brief(JsonProcessingException e) {
        String s = e.getOriginalMessage();
        if (s == null) return e.getClass().getSimpleName();
        int nl = s.indexOf('\n');
        if (nl >= 0) s = s.substring(0, nl);
        int src = s.indexOf(" (start marker");
        if (src < 0) src = s.indexOf(" at [Source");
        return (src >= 0 ? s.substring(0, src) : s).strip();
    }

    private static int intParam(Context ctx, String name, int dflt, int min, int max) {
        String v = ctx.queryParam(name);
        if (v == null) return dflt;
        try {
            int x = Integer.parseInt(v);
            if (x >= min && x <= max) return x;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ApiError(400, name + " must be an integer from " + min + " to " + max + ", got '" + v + "'");
    }

    private static void json(Context ctx, int status, Object value) {
        try {
            ctx.status(status).contentType("application/json").result(Json.MAPPER.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void error(Context ctx, int status, String reason) {
        json(ctx, status, Map.of("error", reason));
    }

    private static void page(Context ctx) throws IOException {
        try (InputStream in = Api.class.getResourceAsStream("index.html")) {
            ctx.contentType("text/html; charset=utf-8").result(in.readAllBytes());
        }
    }
}
