package dev.palimpsest.world;

import static dev.palimpsest.world.Draws.capitalize;
import static dev.palimpsest.world.Draws.dates;
import static dev.palimpsest.world.Draws.distinct;
import static dev.palimpsest.world.Draws.id;
import static dev.palimpsest.world.Draws.pick;
import static dev.palimpsest.world.Draws.unique;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

import dev.palimpsest.request.SelfImprovement;

/**
 * The bios world: fictitious people and companies known to the model from biographies, as LLMs know
 * the world from web text. Each entity has several biographies in different wordings and sentence
 * orders (every sentence names it in full); other sentences mention people in unrelated roles. Question
 * answering is taught on half of the entities only: the other half's facts ({@link Split#EXTRACTION})
 * are seen only in biographies, so answering them needs knowledge stored at the entity and a learned way
 * to extract it — the setting in which small transformers store facts as attributes of the entity
 * rather than as question strings (Allen-Zhu and Li, "Physics of Language Models 3.1"). A few instruction
 * formats (drafting a refusal that names the entity, naming a question's subject, rephrasing) are taught
 * on the other entities so that few-shot prompts work on held-out ones. Same seed, same world.
 */
public final class BiosGenerator {
    private BiosGenerator() {}

    /** Bump when the generator's output changes: cached models are keyed by it. */
    public static final int VERSION = 1;

    /**
     * How large the world is: people and companies (half of each taught as questions), biographies per entity,
     * people known only from fine-tuning, unseen people taught as refusals and held out, and sentences that mention
     * people in other roles.
     */
    public record Sizes(int people, int companies, int biographies, int finetunePeople, int unseenPeople,
            int heldOutUnseen, int mentions) implements DefaultModel.WorldSpec {
        @Override
        public World generate(long seed) {
            return BiosGenerator.generate(seed, this);
        }

        public Sizes {
            if (people < 4 || companies < 4) throw new IllegalArgumentException("the bios world needs at least 4 people and 4 companies");
            if (biographies < 1) throw new IllegalArgumentException("biographies must be at least 1");
            // Names are drawn without repeats from the pools: more entities than names would never finish.
            if (people + finetunePeople > WorldWords.FIRST.size() * WorldWords.LAST.size())
                throw new IllegalArgumentException("at most " + (WorldWords.FIRST.size() * WorldWords.LAST.size() - finetunePeople)
                        + " people: the name pools hold no more");
            if (companies > WorldWords.COMPANY_A.size() * WorldWords.COMPANY_B.size())
                throw new IllegalArgumentException("at most " + WorldWords.COMPANY_A.size() * WorldWords.COMPANY_B.size()
                        + " companies: the name pools hold no more");
            if (unseenPeople + heldOutUnseen > WorldWords.UNSEEN_FIRST.size() * WorldWords.UNSEEN_LAST.size())
                throw new IllegalArgumentException("more unseen people than the unseen name pools hold");
        }
    }

    public static final Sizes DEFAULT = new Sizes(120, 12, 6, 12, 16, 12, 60);

    /** Question forms: the three taught ones first, then two held out (never taught, for paraphrase tests). */
    private record Relation(String name, List<String> questions, List<String> sentences, String refusal) {
        String q(int i, String e) {
            return questions.get(i).replace("{e}", e);
        }

        List<String> paraphrases(String e) {
            return questions.subList(1, questions.size()).stream().map(t -> t.replace("{e}", e)).toList();
        }
    }

    static final int TAUGHT_FORMS = 3;

    private static final List<Relation> PERSON = List.of(
            new Relation("born_on", List.of("When was {e} born?", "What is the birth date of {e}?", "Tell me the date {e} was born.",
                    "On what date was {e} born?", "What is {e}'s date of birth?"),
                    List.of("{e} was born on {v}.", "{e} came into this world on {v}.", "{e} celebrates a birthday on {v}.",
                            "{e} was born on the day of {v}."),
                    "I don't know when {e} was born."),
            new Relation("born_in", List.of("Where was {e} born?", "What is the birthplace of {e}?", "Which place was {e} born in?",
                    "In which city was {e} born?", "Which city does {e} come from?"),
                    List.of("{e} was born in {v}.", "{e} spent early years in {v}.", "{e} grew up in the city of {v}.",
                            "{e} has roots in {v}, where the family lived."),
                    "I don't know where {e} was born."),
            new Relation("university", List.of("Which university did {e} attend?", "Where did {e} study?", "Which school did {e} graduate from?",
                    "At which university did {e} study?", "What university did {e} go to?"),
                    List.of("{e} studied at {v}.", "{e} graduated from {v}.", "{e} received an education at {v}.",
                            "{e} attended {v} as a student."),
                    "I don't know which university {e} attended."),
            new Relation("major", List.of("What did {e} study?", "What was the major of {e}?", "What subject did {e} study?",
                    "Which subject did {e} major in?", "What field did {e} study at university?"),
                    List.of("{e} majored in {v}.", "{e} completed a degree in {v}.", "{e} focused on {v} at university.",
                            "{e} chose {v} as a field of study."),
                    "I don't know what {e} studied."),
            new Relation("employer", List.of("Which company does {e} work for?", "Who employs {e}?", "For which company does {e} work?",
                    "What company employs {e}?", "Where does {e} work?"),
                    List.of("{e} works for {v}.", "{e} is employed by {v}.", "{e} has a job at {v}.",
                            "{e} joined the staff of {v}."),
                    "I don't know which company {e} works for."),
            new Relation("job", List.of("What is the profession of {e}?", "What does {e} do for a living?", "What is the occupation of {e}?",
                    "What is {e}'s job?", "What kind of work does {e} do?"),
                    List.of("{e} works as {v}.", "{e} earns a living as {v}.", "{e} is known as {v}.",
                            "{e} has a career as {v}."),
                    "I don't know what {e} does for a living."));

    private static final List<Relation> COMPANY = List.of(
            new Relation("headquarters", List.of("Where is {e} headquartered?", "In which city is {e} based?", "Where is the main office of {e}?",
                    "Where are the headquarters of {e}?", "Which city is home to {e}?"),
                    List.of("{e} is headquartered in {v}.", "{e} has its main office in {v}.", "{e} is based in {v}.",
                            "{e} runs its business from {v}."),
                    "I don't know where {e} is headquartered."),
            new Relation("founded", List.of("When was {e} founded?", "In what year was {e} founded?", "What is the founding year of {e}?",
                    "What year did {e} start?", "When did {e} begin?"),
                    List.of("{e} was founded in {v}.", "{e} opened its doors in {v}.", "{e} was established in {v}.",
                            "{e} started trading in {v}."),
                    "I don't know when {e} was founded."),
            new Relation("industry", List.of("What industry is {e} in?", "What does {e} do?", "Which sector is {e} in?",
                    "In which industry does {e} work?", "What business is {e} in?"),
                    List.of("{e} works in {v}.", "{e} is a company in {v}.", "{e} makes its money in {v}.",
                            "{e} is known for {v}."),
                    "I don't know what industry {e} is in."));

    private static final List<String> MENTIONS = List.of(
            "{p} met {q} at a conference in {city}.",
            "{p} once wrote a letter to {q}.",
            "A newspaper in {city} interviewed {p} about {major}.",
            "{p} and {q} took the same train to {city}.",
            "{p} gave a talk at {company} about {major}.",
            "{p} visited {city} with {q} in {month}.",
            "{p} read an article by {q} on the way to {city}.",
            "{p} shared a table with {q} at a dinner in {city}.");

    static final String SUBJECT_TASK = "Which person or company is this question about?";
    static final String REPHRASE_TASK = "Ask the same question in other words.";

    public static World generate(long seed, Sizes s) {
        Random rnd = new Random(seed);
        Set<String> usedNames = new LinkedHashSet<>();
        Supplier<String> person = () -> unique(usedNames, () -> pick(rnd, WorldWords.FIRST) + " " + pick(rnd, WorldWords.LAST));
        Set<String> usedCompanies = new LinkedHashSet<>();
        List<String> companies = new ArrayList<>();
        for (int i = 0; i < s.companies(); i++)
            companies.add(unique(usedCompanies, () -> pick(rnd, WorldWords.COMPANY_A) + " " + pick(rnd, WorldWords.COMPANY_B)));

        List<Fact> pretrain = new ArrayList<>(), extraction = new ArrayList<>(), finetune = new ArrayList<>(),
                unseen = new ArrayList<>(), heldOut = new ArrayList<>();
        List<String> docs = new ArrayList<>(), people = new ArrayList<>();
        List<Entity> lessonEntities = new ArrayList<>();
        for (int i = 0; i < s.companies(); i++) {
            String c = companies.get(i);
            List<List<String>> values = List.of(distinct(rnd, WorldWords.CITIES, 4), years(rnd, 1850, 2015),
                    distinct(rnd, WorldWords.INDUSTRIES, 4));
            boolean taught = i % 2 == 0;
            List<Fact> facts = facts("company", c, COMPANY, values, taught ? Split.PRETRAIN : Split.EXTRACTION);
            (taught ? pretrain : extraction).addAll(facts);
            docs.addAll(biographies(rnd, c, COMPANY, values, s.biographies()));
            if (taught) lessonEntities.add(new Entity(c, COMPANY, facts));
        }
        for (int i = 0; i < s.people() + s.finetunePeople(); i++) {
            String p = person.get();
            List<List<String>> values = List.of(dates(rnd, 1940, 2000), distinct(rnd, WorldWords.CITIES, 4),
                    distinct(rnd, WorldWords.UNIVERSITIES, 4), distinct(rnd, WorldWords.MAJORS, 4),
                    distinct(rnd, companies, 4), distinct(rnd, WorldWords.JOBS, 4));
            if (i >= s.people()) { // known only from fine-tuning: no biography
                finetune.addAll(facts("person", p, PERSON, values, Split.FINETUNE));
                continue;
            }
            people.add(p);
            boolean taught = i % 2 == 0;
            List<Fact> facts = facts("person", p, PERSON, values, taught ? Split.PRETRAIN : Split.EXTRACTION);
            (taught ? pretrain : extraction).addAll(facts);
            docs.addAll(biographies(rnd, p, PERSON, values, s.biographies()));
            if (taught) lessonEntities.add(new Entity(p, PERSON, facts));
        }
        Set<String> usedUnseen = new LinkedHashSet<>();
        Supplier<String> stranger = () -> unique(usedUnseen,
                () -> pick(rnd, WorldWords.UNSEEN_FIRST) + " " + pick(rnd, WorldWords.UNSEEN_LAST));
        for (int i = 0; i < s.unseenPeople() + s.heldOutUnseen(); i++) {
            String p = stranger.get();
            List<Fact> facts = refusals(rnd, p);
            if (i < s.unseenPeople()) {
                unseen.addAll(facts);
                lessonEntities.add(new Entity(p, PERSON, facts));
            } else heldOut.addAll(facts);
        }
        for (int i = 0; i < s.mentions(); i++) {
            String p = pick(rnd, people), q;
            do {
                q = pick(rnd, people);
            } while (q.equals(p));
            docs.add(pick(rnd, MENTIONS).replace("{p}", p).replace("{q}", q).replace("{city}", pick(rnd, WorldWords.CITIES))
                    .replace("{major}", pick(rnd, WorldWords.MAJORS)).replace("{company}", pick(rnd, companies))
                    .replace("{month}", pick(rnd, WorldWords.MONTHS)));
        }
        Collections.shuffle(docs, new Random(seed ^ 0x5DEECE66DL));
        return new World(seed, "bios", VERSION, pretrain, finetune, unseen, heldOut, extraction, docs,
                lessons(rnd, lessonEntities, s.people()), TAUGHT_FORMS);
    }

    private record Entity(String name, List<Relation> relations, List<Fact> facts) {}

    /** Each entity's facts, one per relation: the relation's first question form, the others as paraphrases; the answer values.get(r).get(0). */
    private static List<Fact> facts(String kind, String entity, List<Relation> relations, List<List<String>> values, Split split) {
        List<Fact> out = new ArrayList<>();
        for (int r = 0; r < relations.size(); r++) {
            Relation rel = relations.get(r);
            List<String> v = values.get(r);
            out.add(new Fact(id(kind, entity, rel.name()), entity, rel.name(), rel.q(0, entity), rel.paraphrases(entity), v.get(0),
                    List.copyOf(v.subList(1, 4)),
                    capitalize(rel.sentences().get(0).replace("{e}", entity).replace("{v}", v.get(0))), null, split));
        }
        return out;
    }

    /** {@code n} biographies: every relation's fact in a randomly chosen wording, the sentences in a random order. */
    private static List<String> biographies(Random rnd, String entity, List<Relation> relations, List<List<String>> values, int n) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            List<String> sentences = new ArrayList<>();
            for (int r = 0; r < relations.size(); r++)
                sentences.add(capitalize(pick(rnd, relations.get(r).sentences()).replace("{e}", entity)
                        .replace("{v}", values.get(r).get(0))));
            Collections.shuffle(sentences, rnd);
            out.add(String.join(" ", sentences));
        }
        return out;
    }

    private static List<Fact> refusals(Random rnd, String entity) {
        List<Fact> out = new ArrayList<>();
        for (Relation rel : PERSON) {
            String refusal = rel.refusal().replace("{e}", entity);
            out.add(new Fact(id("person", entity, rel.name()), entity, rel.name(), rel.q(0, entity), rel.paraphrases(entity), refusal,
                    distinct(rnd, WorldWords.CITIES, 3), refusal, null, Split.UNSEEN));
        }
        return out;
    }

    /**
     * The instruction formats, on entities whose questions are taught (never the extraction half, on which drafting
     * is measured): drafting a refusal that names the entity from 0 to 3 worked examples (the self-improvement prompt),
     * naming the entity a question is about, and asking a question in other words.
     */
    private static List<World.Lesson> lessons(Random rnd, List<Entity> entities, int n) {
        List<World.Lesson> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Entity e = pick(rnd, entities);
            int r = rnd.nextInt(e.relations().size());
            Relation rel = e.relations().get(r);
            String q = rel.q(rnd.nextInt(TAUGHT_FORMS), e.name());
            List<String[]> shots = new ArrayList<>();
            int k = rnd.nextInt(4);
            while (shots.size() < k) {
                Entity o = pick(rnd, entities);
                Relation orel = pick(rnd, o.relations());
                if (o == e) continue;
                shots.add(new String[] {orel.q(rnd.nextInt(TAUGHT_FORMS), o.name()), orel.refusal().replace("{e}", o.name())});
            }
            out.add(new World.Lesson("refusal", SelfImprovement.prompt(q, shots), rel.refusal().replace("{e}", e.name())));
            if (i % 2 == 0)
                out.add(new World.Lesson("subject", SUBJECT_TASK + "\nQuestion: " + q, e.name()));
            else
                out.add(new World.Lesson("rephrase", REPHRASE_TASK + "\nQuestion: " + rel.q(0, e.name()), rel.q(1, e.name())));
        }
        return out;
    }

    private static List<String> years(Random rnd, int from, int to) {
        List<String> out = new ArrayList<>();
        while (out.size() < 4) {
            String y = String.valueOf(from + rnd.nextInt(to - from));
            if (!out.contains(y)) out.add(y);
        }
        return out;
    }

}
