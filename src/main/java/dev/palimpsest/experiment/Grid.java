package dev.palimpsest.experiment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;

/**
 * A planned grid on disk, the folder every scheduler works in:
 * <pre>
 * DIR/grid.json        title, number of cells, resources
 * DIR/cells/I.json     one cell each (see {@link Cell})
 * DIR/slurm.sbatch     a job array over the cells
 * DIR/results/I.json   a finished cell's rows, wall time and peak memory (written atomically, by the cell's hash)
 * DIR/results/I.error  a failed cell's reason
 * DIR/logs/            the array's output files
 * </pre>
 */
public record Grid(Path dir, String title, int cells, Resources resources) {
    static final String FILE = "grid.json";

    /** Writes the grid into {@code dir} (new, empty, or a grid folder planned before: its results stay, reused by hash). */
    public static Grid plan(SweepConfig c, Path dir, String launcher) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new UserError(dir + ": exists and is not a folder");
        if (Files.isDirectory(dir) && !Files.exists(dir.resolve(FILE)))
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new UserError(dir + ": not empty and not a planned grid; give a new folder");
            }
        Files.createDirectories(dir.resolve("cells"));
        Files.createDirectories(dir.resolve("results"));
        Files.createDirectories(dir.resolve("logs"));
        // Cells beyond the new grid's size (a smaller re-plan) are removed, with their results.
        for (Path p : list(dir.resolve("cells"))) if (index(p) >= c.cells().size()) Files.delete(p);
        for (Path p : list(dir.resolve("results"))) if (index(p) >= c.cells().size()) Files.delete(p);
        for (Cell cell : c.cells())
            AtomicFiles.writeString(dir.resolve("cells").resolve(cell.index() + ".json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(cell));
        Grid g = new Grid(dir.toAbsolutePath().normalize(), c.title(), c.cells().size(), c.resources());
        AtomicFiles.writeString(dir.resolve("slurm.sbatch"), SlurmScript.text(g, launcher));
        // grid.json last: its presence says the folder is complete.
        AtomicFiles.writeString(dir.resolve(FILE), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(
                Map.of("title", c.title(), "cells", c.cells().size(), "resources", c.resources())));
        return g;
    }

    public static Grid open(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) throw new UserError(dir + ": not a planned grid (no " + FILE + "; run `experiment plan` first)");
        try {
            JsonNode j = Json.MAPPER.readTree(f.toFile());
            return new Grid(dir.toAbsolutePath().normalize(), j.get("title").asText(), j.get("cells").asInt(),
                    Json.MAPPER.treeToValue(j.get("resources"), Resources.class));
        } catch (IOException | RuntimeException e) {
            throw new UserError(f + ": damaged (" + e.getMessage() + ")");
        }
    }

    public Cell cell(int i) {
        if (i < 0 || i >= cells) throw new UserError(dir + ": no cell " + i + " (the grid has cells 0 to " + (cells - 1) + ")");
        Path f = dir.resolve("cells").resolve(i + ".json");
        try {
            return Json.MAPPER.readValue(f.toFile(), Cell.class);
        } catch (IOException e) {
            throw new UserError(f + ": cannot read the cell (" + e.getMessage() + ")");
        }
    }

    public Path result(int i) {
        return dir.resolve("results").resolve(i + ".json");
    }

    public Path error(int i) {
        return dir.resolve("results").resolve(i + ".error");
    }

    /** The result of cell {@code i} when it exists and was computed for the cell as it is now; else null. */
    public JsonNode finished(int i) {
        Path f = result(i);
        if (!Files.isRegularFile(f)) return null;
        try {
            JsonNode r = Json.MAPPER.readTree(f.toFile());
            return r.path("hash").asText().equals(cell(i).hash()) ? r : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Parses {@code 3}, {@code 0-4}, {@code 1,5,9-11}. */
    public List<Integer> indices(String spec) {
        List<Integer> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            try {
                int dash = p.indexOf('-');
                int a = Integer.parseInt(dash < 0 ? p : p.substring(0, dash)), b = dash < 0 ? a : Integer.parseInt(p.substring(dash + 1));
                for (int i = a; i <= b; i++) {
                    cell(i);
                    out.add(i);
                }
            } catch (NumberFormatException e) {
                throw new UserError("--index must be numbers and ranges such as 3, 0-4 or 1,5,9-11; got '" + spec + "'");
            }
        }
        return out;
    }

    /** Indices as Slurm's --array takes them: runs of consecutive numbers as ranges. */
    public static String arraySpec(List<Integer> indices) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < indices.size(); ) {
            int j = i;
            while (j + 1 < indices.size() && indices.get(j + 1) == indices.get(j) + 1) j++;
            if (sb.length() > 0) sb.append(',');
            sb.append(indices.get(i));
            if (j > i) sb.append('-').append(indices.get(j));
            i = j + 1;
        }
        return sb.toString();
    }

    private static List<Path> list(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d+\\.(json|error)")).toList();
        }
    }

    private static int index(Path p) {
        String n = p.getFileName().toString();
        return Integer.parseInt(n.substring(0, n.indexOf('.')));
    }
}
