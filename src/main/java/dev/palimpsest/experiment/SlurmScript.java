package dev.palimpsest.experiment;

/** The job-array script {@code experiment plan} writes: one array task per cell, each running {@code experiment run-cell}. */
final class SlurmScript {
    private SlurmScript() {}

    static String text(Grid g, String launcher) {
        Resources r = g.resources();
        StringBuilder sb = new StringBuilder("#!/bin/bash\n");
        sb.append("#SBATCH --job-name=palimpsest-").append(g.title().replaceAll("[^A-Za-z0-9_.-]+", "-")).append('\n');
        sb.append("#SBATCH --array=0-").append(g.cells() - 1).append('\n');
        sb.append("#SBATCH --cpus-per-task=").append(r.cpus()).append('\n');
        sb.append("#SBATCH --mem=").append(r.memory()).append('\n');
        sb.append("#SBATCH --time=").append(r.time()).append('\n');
        if (r.gpus() > 0) sb.append("#SBATCH --gres=gpu:").append(r.gpus()).append('\n');
        if (r.partition() != null) sb.append("#SBATCH --partition=").append(r.partition()).append('\n');
        if (r.account() != null) sb.append("#SBATCH --account=").append(r.account()).append('\n');
        sb.append("#SBATCH --output=").append(g.dir().resolve("logs")).append("/%A_%a.out\n");
        sb.append("# Written by `palimpsest experiment plan`. Submit: sbatch ").append(g.dir().resolve("slurm.sbatch")).append('\n');
        sb.append("# A re-submitted array skips the cells whose results exist; `experiment collect` says which to re-submit (--array=...).\n");
        sb.append("set -euo pipefail\n");
        sb.append("export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-").append(r.cpus()).append("}\"\n");
        sb.append("PALIMPSEST=\"${PALIMPSEST:-").append(launcher).append("}\"\n");
        sb.append("exec \"$PALIMPSEST\" experiment run-cell ").append(g.dir()).append(" --index \"$SLURM_ARRAY_TASK_ID\"")
                .append(r.gpus() > 0 ? " --device cuda" : "").append('\n');
        return sb.toString();
    }
}
