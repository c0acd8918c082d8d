package dev.palimpsest.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.palimpsest.UserError;
import dev.palimpsest.data.DataFormat;
import dev.palimpsest.data.QaItem;
import dev.palimpsest.data.QaReader;
import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Settings;
import dev.palimpsest.model.LanguageModel;
import dev.palimpsest.serve.AccessTokens;
import dev.palimpsest.serve.Service;
import dev.palimpsest.world.DefaultModel;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves a model over HTTP and applies knowledge updates to it as they arrive, with a durable log, exact reverts and bearer tokens.",
                "API: POST /v1/updates, GET /v1/updates[/{id}], DELETE /v1/updates/{id}, POST /v1/generate, POST /v1/score, GET /v1/health, GET /metrics; a page at /."})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOption model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Interface to listen on (default ${DEFAULT-VALUE}; another needs --tokens).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0: any free port, printed at start).")
    int port;

    @Option(names = "--state", defaultValue = "palimpsest-serve", paramLabel = "DIR",
            description = "Folder of the model versions (and of the SQLite log by default); default ${DEFAULT-VALUE}.")
    Path state;

    @Option(names = "--db", paramLabel = "FILE|JDBC-URL",
            description = "The update log: a SQLite file (default DIR/log.sqlite) or a jdbc:postgresql://HOST/DB?user=…&password=… URL.")
    String db;

    @Option(names = "--tokens", paramLabel = "FILE", description = "Bearer tokens, one 'TOKEN ROLE' per line (reader, editor, admin). Without it every request is admin, on a loopback --host only.")
    Path tokens;

    @Option(names = "--method", defaultValue = "loka", description = "Method of updates that name none (default ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A setting of --method (repeatable).")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--retain", paramLabel = "FILE", description = "Questions whose answers every update should keep (read by methods with a retain term), beside each update's own.")
    Path retain;

    @Option(names = "--retain-format", defaultValue = "tofu", description = "Format of --retain (default ${DEFAULT-VALUE}).")
    String retainFormat;

    @Option(names = "--batch-window", defaultValue = "5s", paramLabel = "DURATION",
            description = "Updates arriving within this long of the first queued one apply together (e.g. 5s, 500ms, 0); default ${DEFAULT-VALUE}.")
    String window;

    @Option(names = "--lean", description = "One set of weights for both model copies (half the memory); only methods that keep the weights (loka, grace, wise) may run.")
    boolean lean;

    @Option(names = "--max-batch", defaultValue = "32", description = "At most this many updates in one batch (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) throw new UserError("--port must be 0 to 65535, got " + port);
        if (maxBatch < 1) throw new UserError("--max-batch must be at least 1, got " + maxBatch);
        long windowMillis = millis(window);
        Settings.check(MethodRegistry.get(method), settings);
        AccessTokens access = tokens == null ? AccessTokens.none() : AccessTokens.read(tokens);
        List<QaItem> keep = retain == null ? List.of() : QaReader.read(retain, DataFormat.parse(retainFormat));
        Path resolved = DefaultModel.named(model.dir.toString(), new java.io.PrintWriter(System.err, true));
        String name = (resolved == null ? model.dir : resolved).toAbsolutePath().normalize().toString();
        String database = db != null ? db : state.resolve("log.sqlite").toString();
        PrintStream out = System.out;
        Service service = Service.start(new Service.Options(() -> {
            try {
                return model.loadMerged();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, name, state, database, access, method, settings, keep, windowMillis, maxBatch, host, port, lean), out);
        Runtime.getRuntime().addShutdownHook(new Thread(service::close));
        service.join();
        return 0;
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)?");

    static long millis(String text) {
        Matcher m = DURATION.matcher(text.strip());
        if (!m.matches()) throw new UserError("--batch-window must be a duration such as 5s, 500ms or 2m, got '" + text + "'");
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> n;
            case "m" -> n * 60_000;
            default -> n * 1000;
        };
    }
}
