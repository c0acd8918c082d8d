package dev.palimpsest.cli;

import java.util.concurrent.Callable;

import dev.palimpsest.method.MethodRegistry;
import dev.palimpsest.method.Setting;
import dev.palimpsest.method.UpdateMethod;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "methods", mixinStandardHelpOptions = true, description = "List the registered update methods with their defaults and the range of every setting (checked before a model is loaded).")
final class MethodsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        for (String name : MethodRegistry.names()) {
            UpdateMethod m = MethodRegistry.get(name);
            spec.commandLine().getOut().printf("%-9s %s%n", name, m.description());
            if (!m.settings().isEmpty())
                spec.commandLine().getOut().printf("%-9s settings: %s%n", "", String.join(", ", m.settings().stream().map(Setting::describe).toList()));
        }
        return 0;
    }
}
