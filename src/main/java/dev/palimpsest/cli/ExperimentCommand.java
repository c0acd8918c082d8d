package dev.palimpsest.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import dev.palimpsest.UserError;
import dev.palimpsest.experiment.CellRunner;
import dev.palimpsest.experiment.Grid;
import dev.palimpsest.experiment.GridReport;
import dev.palimpsest.experiment.SweepConfig;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.SelfProcess;

/**
 * Sweeps as grids of independent cells: {@code plan} writes them (and a Slurm job array), {@code run-cell} runs one or
 * a few, {@code run} runs the missing ones here in N processes, {@code collect} merges what is finished. The old
 * one-shot form, {@code experiment --config FILE --out DIR}, is plan + run + collect in one process.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Run a sweep from a JSON config (models × methods × forget sizes × seeds) as a grid of independent cells, here or on Slurm,",
                "and write results.jsonl, results.csv, report.md and plots. See README for the config's fields.",
                "experiment --config FILE --out DIR: plan, run every cell in this process and collect, in one go."},
        subcommands = {ExperimentCommand.Plan.class, ExperimentCommand.RunCell.class, ExperimentCommand.Run.class, ExperimentCommand.Collect.class})
final class ExperimentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "The grid folder: new, empty, or this sweep's grid from before (finished cells are kept).")
    Path out;

    @Option(names = "--overwrite", description = "Start --out afresh when it holds a grid (its results are deleted).")
    boolean overwrite;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        if (config == null || out == null)
            throw new UserError("experiment: give --config FILE --out DIR, or one of: plan, run-cell, run, collect (see --help)");
        device.apply();
        PrintWriter err = spec.commandLine().getErr(), o = spec.commandLine().getOut();
        SweepConfig c = SweepConfig.read(config, err);
        if (overwrite && Files.isRegularFile(out.resolve("grid.json"))) AtomicFiles.deleteTree(out);
        Grid g = Grid.plan(c, out, launcher());
        var outcomes = CellRunner.run(g, g.indices("0-" + (g.cells() - 1)), err);
        return report(g, o, outcomes.stream().anyMatch(x -> x.status() == CellRunner.Status.FAILED));
    }

    /** Collects, prints the report and what is left; 0 when every cell finished, 3 when some are missing or failed. */
    static int report(Grid g, PrintWriter out, boolean anyFailed) throws IOException {
        GridReport.Collected c = GridReport.collect(g);
        String md = GridReport.write(g, c);
        if (!md.isEmpty()) out.println(md);
        for (String line : GridReport.summary(g, c)) out.println(line);
        if (!md.isEmpty()) out.println("report in " + g.dir());
        return c.complete() && !anyFailed ? 0 : 3;
    }

    /** The launcher script that started this process (set by ./palimpsest), for the Slurm script to call. */
    static String launcher() {
        String l = System.getenv("PALIMPSEST_LAUNCHER");
        return l != null ? l : "palimpsest";
    }

    @Command(name = "plan", mixinStandardHelpOptions = true,
            description = {"Write the sweep as numbered cells (DIR/cells/I.json) and DIR/slurm.sbatch, a job array over them",
                    "(resources per cell from the config's \"resources\": cpus, memory, gpus, time, partition, account). Re-planning",
                    "into the same folder keeps the results of cells that did not change."})
    static final class Plan implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--config", required = true, paramLabel = "FILE") Path config;
        @Option(names = "--out", required = true, paramLabel = "DIR") Path out;

        @Override
        public Integer call() throws Exception {
            SweepConfig c = SweepConfig.read(config, spec.commandLine().getErr());
            Grid g = Grid.plan(c, out, launcher());
            int done = 0;
            for (int i = 0; i < g.cells(); i++) if (g.finished(i) != null) done++;
            spec.commandLine().getOut().printf("%s: %d cells (%d finished already); submit with: sbatch %s, or run here: palimpsest experiment run %s%n",
                    g.dir(), g.cells(), done, g.dir().resolve("slurm.sbatch"), g.dir());
            return 0;
        }
    }

    @Command(name = "run-cell", mixinStandardHelpOptions = true,
            description = {"Run cells of a planned grid in this process (cells on one model share it), writing DIR/results/I.json",
                    "atomically; a cell finished before (same content) is skipped, a failed one writes DIR/results/I.error and the exit code is 1."})
    static final class RunCell implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DIR") Path dir;
        @Option(names = "--index", required = true, paramLabel = "I", description = "A cell, or several: 3, 0-4, 1,5,9-11.") String index;
        @Mixin
        DeviceOption device;

        @Override
        public Integer call() {
            device.apply();
            Grid g = Grid.open(dir);
            var outcomes = CellRunner.run(g, g.indices(index), spec.commandLine().getErr());
            return outcomes.stream().anyMatch(x -> x.status() == CellRunner.Status.FAILED) ? 1 : 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the grid's unfinished cells on this machine in --parallel processes (each `experiment run-cell` over a share",
                    "of the cells, those on one model together), then collect."})
    static final class Run implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DIR") Path dir;
        @Option(names = "--parallel", defaultValue = "1", description = "Processes (default ${DEFAULT-VALUE}).") int parallel;

        @Override
        public Integer call() throws Exception {
            if (parallel < 1) throw new UserError("--parallel must be at least 1, got " + parallel);
            Grid g = Grid.open(dir);
            PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            // Unfinished cells by model, then dealt out so that each process gets whole models where it can.
            Map<String, List<Integer>> byModel = new LinkedHashMap<>();
            for (int i = 0; i < g.cells(); i++) if (g.finished(i) == null) byModel.computeIfAbsent(g.cell(i).model(), m -> new ArrayList<>()).add(i);
            List<List<Integer>> shares = new ArrayList<>();
            for (int p = 0; p < parallel; p++) shares.add(new ArrayList<>());
            List<Integer> order = new ArrayList<>();
            byModel.values().forEach(order::addAll);
            int per = (int) Math.ceil(order.size() / (double) parallel);
            for (int k = 0; k < order.size(); k++) shares.get(Math.min(parallel - 1, k / Math.max(1, per))).add(order.get(k));
            shares.removeIf(List::isEmpty);
            err.printf("%s: %d cells to run in %d process(es)%n", g.dir(), order.size(), shares.size());
            List<Process> running = new ArrayList<>();
            List<Thread> pumps = new ArrayList<>();
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, shares.size()));
            for (int p = 0; p < shares.size(); p++) {
                String progress = System.getProperty("palimpsest.progress");
                ProcessBuilder pb = new ProcessBuilder(SelfProcess.command(progress == null ? List.of() : List.of("-Dpalimpsest.progress=" + progress),
                        List.of("experiment", "run-cell", g.dir().toString(), "--index", Grid.arraySpec(shares.get(p))))).redirectErrorStream(true);
                pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
                pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
                Process proc = pb.start();
                running.add(proc);
                String prefix = shares.size() == 1 ? "" : "[" + (p + 1) + "] ";
                Thread pump = new Thread(() -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = r.readLine()) != null; ) {
                            synchronized (err) {
                                err.println(prefix + line);
                                err.flush();
                            }
                        }
                    } catch (IOException e) {
                        // the process ended; its cells' files say what it did
                    }
                });
                pump.start();
                pumps.add(pump);
            }
            boolean failed = false;
            for (Process proc : running) failed |= proc.waitFor() != 0;
            for (Thread t : pumps) t.join();
            return report(g, out, failed);
        }
    }

    @Command(name = "collect", mixinStandardHelpOptions = true,
            description = {"Merge every finished cell into report.md, results.csv, results.jsonl, plots and cells.csv in DIR; list the missing and",
                    "failed cells and the sbatch --array= that re-submits only those. Exit code 0 when every cell finished, else 3."})
    static final class Collect implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DIR") Path dir;

        @Override
        public Integer call() throws Exception {
            return report(Grid.open(dir), spec.commandLine().getOut(), false);
        }
    }
}
