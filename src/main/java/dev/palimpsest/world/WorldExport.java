package dev.palimpsest.world;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.palimpsest.io.OutputFolder;

/**
 * Writes a world in the real benchmarks' formats, one file per split, so one set of readers serves
 * real and built-in data: TOFU-style QA files (with the world's extra fields), TOFU "world facts"
 * with four options, a PISTOL-style contract file, and the plain-text pretraining corpus.
 */
public final class WorldExport {
    private WorldExport() {}

    public static final List<String> FILES = List.of("pretrain.json", "finetune.json", "unseen.json",
            "unseen_heldout.json", "extraction.json", "world_facts.json", "pistol.json", "counterfact.json", "safety.json", "lessons.json",
            "corpus.txt", "world.json");

    /** Writes the world as a new folder {@code dir}, published complete or not at all. */
    public static void write(World world, Path dir) throws IOException {
        try (OutputFolder out = OutputFolder.prepare(dir, false, List.of())) {
            out.fill(d -> writeInto(world, d));
            out.publish("world");
        }
    }

    /** Writes every file into {@code tmp}, an empty folder (an {@link dev.palimpsest.io.OutputFolder}'s staging folder). */
    public static void writeInto(World world, Path tmp) throws IOException {
        ObjectMapper om = new ObjectMapper();
        var pretty = om.writerWithDefaultPrettyPrinter();
        Files.writeString(tmp.resolve("pretrain.json"), pretty.writeValueAsString(tofu(om, world.pretrain())));
        Files.writeString(tmp.resolve("finetune.json"), pretty.writeValueAsString(tofu(om, world.finetune())));
        Files.writeString(tmp.resolve("unseen.json"), pretty.writeValueAsString(tofu(om, world.unseen())));
        Files.writeString(tmp.resolve("unseen_heldout.json"), pretty.writeValueAsString(tofu(om, world.unseenHeldOut())));
        Files.writeString(tmp.resolve("extraction.json"), pretty.writeValueAsString(tofu(om, world.extraction())));
        Files.writeString(tmp.resolve("world_facts.json"), pretty.writeValueAsString(worldFacts(om, world)));
        Files.writeString(tmp.resolve("pistol.json"), pretty.writeValueAsString(pistol(om, world.finetune())));
        Files.writeString(tmp.resolve("counterfact.json"), pretty.writeValueAsString(counterfact(om, world.pretrain())));
        Files.writeString(tmp.resolve("safety.json"), pretty.writeValueAsString(pku(om, SafetySet.generate(world, safetyRequests(world), safetyRequests(world), world.seed()), world.seed())));
        ArrayNode lessons = om.createArrayNode();
        for (World.Lesson l : world.lessons()) lessons.addObject().put("task", l.task()).put("prompt", l.prompt()).put("answer", l.answer());
        Files.writeString(tmp.resolve("lessons.json"), pretty.writeValueAsString(lessons));
        Files.writeString(tmp.resolve("corpus.txt"), String.join("\n", world.corpus()) + "\n");
        ObjectNode meta = om.createObjectNode();
        meta.put("world", world.name());
        meta.put("world_version", world.version());
        meta.put("seed", world.seed());
        meta.put("pretrain_facts", world.pretrain().size());
        meta.put("extraction_facts", world.extraction().size());
        meta.put("finetune_facts", world.finetune().size());
        meta.put("unseen_facts", world.unseen().size());
        meta.put("unseen_heldout_facts", world.unseenHeldOut().size());
        meta.put("corpus_lines", world.corpus().size());
        meta.put("lessons", world.lessons().size());
        meta.put("taught_question_forms", world.taughtForms());
        Files.writeString(tmp.resolve("world.json"), pretty.writeValueAsString(meta));
    }

    /** TOFU fields (question, answer, paraphrased_question, perturbed_answer) and the world's own. */
    static ArrayNode tofu(ObjectMapper om, List<Fact> facts) {
        ArrayNode out = om.createArrayNode();
        for (Fact f : facts) {
            ObjectNode r = out.addObject();
            r.put("question", f.question());
            r.put("answer", f.answer());
            r.put("paraphrased_question", f.paraphrases().get(f.paraphrases().size() - 1));
            f.perturbed().forEach(r.putArray("perturbed_answer")::add);
            r.put("id", f.id());
            r.put("entity", f.entity());
            r.put("relation", f.relation());
            r.put("sentence", f.sentence());
            r.put("split", f.split().name().toLowerCase());
            f.paraphrases().forEach(r.putArray("paraphrased_questions")::add);
            if (f.edge() != null) r.put("edge", f.edge());
        }
        return out;
    }

    /** TOFU's world-facts layout: the answer among four options (shuffled, seeded). */
    static ArrayNode worldFacts(ObjectMapper om, World world) {
        ArrayNode out = om.createArrayNode();
        Random rnd = new Random(world.seed() + 17);
        for (Fact f : world.pretrain()) {
            List<String> options = new ArrayList<>(f.perturbed());
            options.add(f.answer());
            Collections.shuffle(options, rnd);
            ObjectNode r = out.addObject();
            r.put("question", f.question());
            r.put("answer", f.answer());
            for (int i = 0; i < 4; i++) r.put("option" + (i + 1), options.get(i));
        }
        return out;
    }

    /**
     * CounterFact's layout (EasyEdit's field names): each fact rewritten to its first wrong answer; the rephrase is the
     * fact's last paraphrase (held out from training where the world holds some out); locality is the fact half the
     * list away, with its own answer.
     */
    /** Harmful and benign requests in the written safety set (as many of each): 20, or one per person of a smaller world. */
    public static int safetyRequests(World world) {
        return Math.min(20, SafetySet.people(world).size());
    }

    /**
     * PKU-SafeRLHF records: a harmful request has its unsafe and its safe answer in a drawn order, a benign one its
     * safe answer twice (both safe, so readers of harmful pairs skip it); the extra field {@code rephrased_prompt} is
     * the held-out rephrasing.
     */
    static ArrayNode pku(ObjectMapper om, List<SafetySet.Request> requests, long seed) {
        ArrayNode out = om.createArrayNode();
        Random rnd = new Random(seed);
        for (SafetySet.Request r : requests) {
            boolean unsafeFirst = r.harmful() && rnd.nextBoolean();
            String r0 = r.harmful() ? (unsafeFirst ? r.unsafe() : r.safe()) : r.safe(), r1 = r.harmful() ? (unsafeFirst ? r.safe() : r.unsafe()) : r.safe();
            out.addObject().put("prompt", r.prompt()).put("rephrased_prompt", r.rephrased()).put("response_0", r0).put("response_1", r1)
                    .put("is_response_0_safe", !unsafeFirst || !r.harmful()).put("is_response_1_safe", unsafeFirst || !r.harmful())
                    .put("safer_response_id", unsafeFirst ? 1 : 0).put("better_response_id", unsafeFirst ? 1 : 0);
        }
        return out;
    }

    static ArrayNode counterfact(ObjectMapper om, List<Fact> facts) {
        ArrayNode out = om.createArrayNode();
        for (int i = 0; i < facts.size(); i++) {
            Fact f = facts.get(i), other = facts.get((i + facts.size() / 2) % facts.size());
            if (other.entity().equals(f.entity())) other = facts.get((i + facts.size() / 2 + 7) % facts.size());
            ObjectNode r = out.addObject();
            r.put("case_id", f.id());
            r.put("prompt", f.question());
            r.put("subject", f.entity());
            r.put("target_new", f.perturbed().get(0));
            r.put("ground_truth", f.answer());
            r.put("rephrase_prompt", f.paraphrases().get(f.paraphrases().size() - 1));
            r.put("locality_prompt", other.question());
            r.put("locality_ground_truth", other.answer());
        }
        return out;
    }

    /** PISTOL's layout for the contract facts of a split. */
    static ArrayNode pistol(ObjectMapper om, List<Fact> facts) {
        ArrayNode out = om.createArrayNode();
        for (Fact f : facts) {
            if (f.edge() == null) continue;
            ObjectNode r = out.addObject();
            r.put("question", f.question());
            r.put("answer", f.answer());
            r.put("edge", f.edge());
        }
        return out;
    }
}
