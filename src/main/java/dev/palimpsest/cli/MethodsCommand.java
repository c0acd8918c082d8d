package dev.palimpsest.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Preset;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.UpdateMethod;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "methods", mixinStandardHelpOptions = true,
        description = "List the registered update methods and every setting: its default, its range (checked before a model is loaded) and what it does.")
final class MethodsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--markdown", description = "Print README's methods table (one row per setting) instead.")
    boolean markdown;

    @Option(names = "--preset", paramLabel = "NAME", description = "Print the preset's table instead (update --preset NAME): per method and model_type, the settings, their source file, and what is not reproduced.")
    String preset;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.print(preset != null ? Preset.markdown(preset) : markdown ? markdown() : text());
        out.flush();
        return 0;
    }

    /** Every method with its settings, as `methods` prints them and `update --help` ends. */
    static String text() {
        StringBuilder b = new StringBuilder();
        for (String name : MethodRegistry.names()) {
            UpdateMethod m = MethodRegistry.get(name);
            b.append(String.format("%-9s %s%n", name, m.description()));
            for (Setting s : m.settings())
                b.append(String.format("    %-20s %-16s default %s; %s%n", s.name(), s.range(), s.defaultText(), s.doc()));
        }
        return b.toString();
    }

    /** README's table: one row per method, its settings with their defaults. */
    static String markdown() {
        StringBuilder b = new StringBuilder("| method | what it does | settings (default; range) |\n|---|---|---|\n");
        for (String name : MethodRegistry.names()) {
            UpdateMethod m = MethodRegistry.get(name);
            StringBuilder set = new StringBuilder();
            for (Setting s : m.settings())
                set.append(set.length() == 0 ? "" : "<br>").append('`').append(s.name()).append("` ").append(s.defaultText())
                        .append(" (").append(s.range().replace("|", "\\|")).append("): ").append(s.doc().replace("|", "\\|"));
            b.append("| `").append(name).append("` | ").append(m.description()).append(" | ").append(set.length() == 0 ? "—" : set).append(" |\n");
        }
        return b.toString();
    }
}
