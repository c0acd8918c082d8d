package dev.palimpsest.cli;

import java.util.concurrent.Callable;

import dev.palimpsest.method.MethodRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "methods", mixinStandardHelpOptions = true, description = "List the registered update methods with their defaults.")
final class MethodsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        for (String name : MethodRegistry.names())
            spec.commandLine().getOut().printf("%-6s %s%n", name, MethodRegistry.get(name).description());
        return 0;
    }
}
