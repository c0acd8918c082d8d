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
    public static final int VERSION = 3;

    /**
     * How large the world is: people and companies (half of each taught as questions), biographies per entity, the
     * wordings a biography picks each fact's sentence from (the first {@code wordings} of {@link #WORDINGS}), people
     * known only from fine-tuning, unseen people taught as refusals and held out, and sentences that mention people
     * in other roles.
     */
    public record Sizes(int people, int companies, int biographies, int wordings, int finetunePeople, int unseenPeople,
            int heldOutUnseen, int mentions) implements DefaultModel.WorldSpec {
        @Override
        public World generate(long seed) {
            return BiosGenerator.generate(seed, this);
        }

        public Sizes {
            if (people < 4 || companies < 4) throw new IllegalArgumentException("the bios world needs at least 4 people and 4 companies");
            if (biographies < 1) throw new IllegalArgumentException("biographies must be at least 1");
            if (wordings < 1 || wordings > WORDINGS) throw new IllegalArgumentException("wordings must be 1 to " + WORDINGS);
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

    public static final Sizes DEFAULT = new Sizes(120, 12, 6, 4, 12, 16, 12, 60);

    /** Wordings each relation has for its biography sentence. */
    public static final int WORDINGS = 12;

    /** Question forms: the taught ones first ({@link #TAUGHT_FORMS}), then the held-out ones (never taught, for paraphrase tests). */
    private record Relation(String name, List<String> questions, List<String> sentences, String refusal) {
        String q(int i, String e) {
            return questions.get(i).replace("{e}", e);
        }

        List<String> paraphrases(String e) {
            return questions.subList(1, questions.size()).stream().map(t -> t.replace("{e}", e)).toList();
        }
    }

    /** Five question forms are taught; the last two of each relation never are (paraphrase tests). */
    static final int TAUGHT_FORMS = 5;

    private static final List<Relation> PERSON = List.of(
            new Relation("born_on", List.of("When was {e} born?", "What is the birth date of {e}?", "Tell me the date {e} was born.",
                    "What day was {e} born on?", "Give the birth date of {e}.", "On what date was {e} born?",
                    "What is {e}'s date of birth?"),
                    List.of("{e} was born on {v}.", "{e} came into this world on {v}.", "{e} celebrates a birthday on {v}.",
                    "{e} was born on the day of {v}.", "{e} entered the world on {v}.", "{e} arrived as a newborn on {v}.",
                    "{e} has a birth certificate dated {v}.", "{e} was brought into the world on {v}.", "{e} marks {v} as the day of birth.",
                    "{e} first opened both eyes on {v}.", "{e} was welcomed by the family on {v}.", "{e} began life on {v}."),
                    "I don't know when {e} was born."),
            new Relation("born_in", List.of("Where was {e} born?", "What is the birthplace of {e}?", "Which place was {e} born in?",
                    "Where did {e} grow up?", "What is the hometown of {e}?", "In which city was {e} born?",
                    "Which city does {e} come from?"),
                    List.of("{e} was born in {v}.", "{e} spent early years in {v}.", "{e} grew up in the city of {v}.",
                    "{e} has roots in {v}, where the family lived.", "{e} is a native of {v}.", "{e} spent childhood in {v}.",
                    "{e} was raised in {v}.", "{e} hails from {v}.", "{e} calls {v} a hometown.",
                    "{e} came from a family in {v}.", "{e} first saw daylight in {v}.", "{e} was a child in {v}."),
                    "I don't know where {e} was born."),
            new Relation("university", List.of("Which university did {e} attend?", "Where did {e} study?", "Which school did {e} graduate from?",
                    "Where was {e} educated?", "Which university is {e} a graduate of?", "At which university did {e} study?",
                    "What university did {e} go to?"),
                    List.of("{e} studied at {v}.", "{e} graduated from {v}.", "{e} received an education at {v}.",
                    "{e} attended {v} as a student.", "{e} earned a degree from {v}.", "{e} spent student years at {v}.",
                    "{e} enrolled at {v}.", "{e} is a graduate of {v}.", "{e} took classes at {v}.",
                    "{e} completed studies at {v}.", "{e} went to university at {v}.", "{e} was educated at {v}."),
                    "I don't know which university {e} attended."),
            new Relation("major", List.of("What did {e} study?", "What was the major of {e}?", "What subject did {e} study?",
                    "What is {e}'s degree in?", "In what field does {e} hold a degree?", "Which subject did {e} major in?",
                    "What field did {e} study at university?"),
                    List.of("{e} majored in {v}.", "{e} completed a degree in {v}.", "{e} focused on {v} at university.",
                    "{e} chose {v} as a field of study.", "{e} studied the subject of {v}.", "{e} holds a degree in {v}.",
                    "{e} specialized in {v}.", "{e} spent years learning {v}.", "{e} wrote a thesis in {v}.",
                    "{e} took a major in {v}.", "{e} became an expert in {v}.", "{e} devoted college years to {v}."),
                    "I don't know what {e} studied."),
            new Relation("employer", List.of("Which company does {e} work for?", "Who employs {e}?", "For which company does {e} work?",
                    "Which firm is {e} employed by?", "Who is the employer of {e}?", "What company employs {e}?",
                    "Where does {e} work?"),
                    List.of("{e} works for {v}.", "{e} is employed by {v}.", "{e} has a job at {v}.",
                    "{e} joined the staff of {v}.", "{e} is on the payroll of {v}.", "{e} earns a salary from {v}.",
                    "{e} goes to work at {v} every day.", "{e} was hired by {v}.", "{e} is part of the team at {v}.",
                    "{e} holds a position at {v}.", "{e} is a member of staff at {v}.", "{e} spends working days at {v}."),
                    "I don't know which company {e} works for."),
            new Relation("job", List.of("What is the profession of {e}?", "What does {e} do for a living?", "What is the occupation of {e}?",
                    "What job does {e} have?", "How does {e} earn a living?", "What is {e}'s job?",
                    "What kind of work does {e} do?"),
                    List.of("{e} works as {v}.", "{e} earns a living as {v}.", "{e} is known as {v}.",
                    "{e} has a career as {v}.", "{e} is employed as {v}.", "{e} makes a living as {v}.",
                    "{e} trained to be {v}.", "{e} spends each day working as {v}.", "{e} found work as {v}.",
                    "{e} is by profession {v}.", "{e} has worked for years as {v}.", "{e} took up a career as {v}."),
                    "I don't know what {e} does for a living."));

    private static final List<Relation> COMPANY = List.of(
            new Relation("headquarters", List.of("Where is {e} headquartered?", "In which city is {e} based?", "Where is the main office of {e}?",
                    "Which city is {e} run from?", "Where does {e} have its head office?", "Where are the headquarters of {e}?",
                    "Which city is home to {e}?"),
                    List.of("{e} is headquartered in {v}.", "{e} has its main office in {v}.", "{e} is based in {v}.",
                    "{e} runs its business from {v}.", "{e} keeps its head office in {v}.", "{e} operates out of {v}.",
                    "{e} has its home base in {v}.", "{e} manages its affairs from {v}.", "{e} put its headquarters in {v}.",
                    "{e} is run from offices in {v}.", "{e} has its seat in {v}.", "{e} chose {v} for its head office."),
                    "I don't know where {e} is headquartered."),
            new Relation("founded", List.of("When was {e} founded?", "In what year was {e} founded?", "What is the founding year of {e}?",
                    "When was {e} established?", "In which year did {e} open?", "What year did {e} start?",
                    "When did {e} begin?"),
                    List.of("{e} was founded in {v}.", "{e} opened its doors in {v}.", "{e} was established in {v}.",
                    "{e} started trading in {v}.", "{e} was set up in {v}.", "{e} came into being in {v}.",
                    "{e} began operating in {v}.", "{e} was created in {v}.", "{e} has existed since {v}.",
                    "{e} was formed in {v}.", "{e} first did business in {v}.", "{e} was launched in {v}."),
                    "I don't know when {e} was founded."),
            new Relation("industry", List.of("What industry is {e} in?", "What does {e} do?", "Which sector is {e} in?",
                    "What field is {e} active in?", "What market does {e} serve?", "In which industry does {e} work?",
                    "What business is {e} in?"),
                    List.of("{e} works in {v}.", "{e} is a company in {v}.", "{e} makes its money in {v}.",
                    "{e} is known for {v}.", "{e} does business in {v}.", "{e} operates in {v}.",
                    "{e} is active in {v}.", "{e} competes in {v}.", "{e} earns revenue from {v}.",
                    "{e} is a firm in {v}.", "{e} specializes in {v}.", "{e} sells products in {v}."),
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
            docs.addAll(biographies(rnd, c, COMPANY, values, s.biographies(), s.wordings()));
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
            docs.addAll(biographies(rnd, p, PERSON, values, s.biographies(), s.wordings()));
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
        // Names no entity of the world has (first and last names recombined): drafting a refusal for one must copy it
        // from the question, as it must for a held-out entity, instead of recalling a known person with that last name.
        Set<String> invented = new LinkedHashSet<>(usedNames);
        int pool = WorldWords.FIRST.size() * WorldWords.LAST.size();
        Supplier<String> newcomer = () -> invented.size() + 1 < pool
                ? unique(invented, () -> pick(rnd, WorldWords.FIRST) + " " + pick(rnd, WorldWords.LAST)) : null;
        return new World(seed, "bios", VERSION, pretrain, finetune, unseen, heldOut, extraction, docs,
                lessons(rnd, lessonEntities, newcomer, s.people()), TAUGHT_FORMS);
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

    /** {@code n} biographies: every relation's fact in one of its first {@code wordings} wordings, the sentences in a random order. */
    private static List<String> biographies(Random rnd, String entity, List<Relation> relations, List<List<String>> values, int n,
            int wordings) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            List<String> sentences = new ArrayList<>();
            for (int r = 0; r < relations.size(); r++)
                sentences.add(capitalize(pick(rnd, relations.get(r).sentences().subList(0, wordings)).replace("{e}", entity)
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
     * is measured): drafting a refusal that names the entity from 0 to 3 worked examples (from this world; and the
     * self-improvement prompt's own, about invented people),
     * naming the entity a question is about, and asking a question in other words.
     */
    private static List<World.Lesson> lessons(Random rnd, List<Entity> entities, Supplier<String> newcomer, int n) {
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
            String refusal = rel.refusal().replace("{e}", e.name());
            out.add(new World.Lesson("refusal", SelfImprovement.prompt(q, shots), refusal));
            // The prompt self-improvement really sends (its own worked examples, none from this world), so that
            // drafting on held-out entities is the taught format, not a transfer from another one; about a person
            // the world does not have, so the name is copied, not recalled.
            String other = newcomer.get();
            Relation orel = other == null ? rel : pick(rnd, PERSON);
            String who = other == null ? e.name() : other;
            out.add(new World.Lesson("refusal", SelfImprovement.prompt(orel.q(rnd.nextInt(TAUGHT_FORMS), who), rnd.nextInt(4)),
                    orel.refusal().replace("{e}", who)));
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
