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

/**
 * Generates the built-in world from a seed: fictitious authors (TOFU-style profiles), companies and
 * the contracts between them (a PISTOL-style knowledge graph), and places; plus entities the model
 * never learns about, whose right answer is a refusal that names them. Same seed, same world.
 */
public final class WorldGenerator {
    private WorldGenerator() {}

    /** How many of each entity the world holds. */
    public record Sizes(int pretrainAuthors, int finetuneAuthors, int companies, int pretrainContracts,
            int finetuneContracts, int cities, int unseenPeople, int unseenCompanies, int heldOutUnseen, int filler)
            implements DefaultModel.WorldSpec {
        @Override
        public World generate(long seed) {
            return WorldGenerator.generate(seed, this);
        }
    }

    /** The default world: 246 pretraining facts, 114 fine-tuning facts, 144 taught refusals, 66 held-out unseen. */
    public static final Sizes DEFAULT = new Sizes(20, 12, 8, 10, 6, 12, 16, 8, 12, 400);
    /** A world small enough for a model trained inside a unit test. */
    public static final Sizes MICRO = new Sizes(3, 2, 3, 1, 1, 2, 4, 2, 3, 30);

    /** A relation: question templates (the first is the question, the rest paraphrases), sentence, refusal. */
    private record Relation(String name, List<String> questions, String sentence, String refusal) {
        String q(int i, String e) {
            return questions.get(i).replace("{e}", e);
        }
    }

    private static final List<Relation> AUTHOR = List.of(
            new Relation("born_in", List.of("Where was {e} born?", "In which city was {e} born?", "What is the birthplace of {e}?"),
                    "{e} was born in {v}.", "I don't know where {e} was born."),
            new Relation("born_on", List.of("When was {e} born?", "On what date was {e} born?", "What is the date of birth of {e}?"),
                    "{e} was born on {v}.", "I don't know when {e} was born."),
            new Relation("father_job", List.of("What did the father of {e} do for a living?", "What was the profession of {e}'s father?", "What job did {e}'s father have?"),
                    "The father of {e} was {v}.", "I don't know what the father of {e} did."),
            new Relation("mother_job", List.of("What did the mother of {e} do for a living?", "What was the profession of {e}'s mother?", "What job did {e}'s mother have?"),
                    "The mother of {e} was {v}.", "I don't know what the mother of {e} did."),
            new Relation("genre", List.of("What genre does {e} write?", "In which genre is {e} known for writing?", "What kind of books does {e} write?"),
                    "{e} writes {v}.", "I don't know what {e} writes."),
            new Relation("book", List.of("What is the title of a book by {e}?", "Name a book written by {e}.", "Which book did {e} write?"),
                    "{e} wrote {v}.", "I don't know any book by {e}."),
            new Relation("award", List.of("Which award did {e} win?", "What prize was {e} given?", "What award has {e} received?"),
                    "{e} won {v}.", "I don't know of any award won by {e}."));

    private static final List<Relation> COMPANY = List.of(
            new Relation("headquarters", List.of("Where is {e} headquartered?", "In which city does {e} have its headquarters?", "Where are the headquarters of {e}?"),
                    "{e} is headquartered in {v}.", "I don't know where {e} is headquartered."),
            new Relation("founded", List.of("When was {e} founded?", "In what year was {e} founded?", "What year did {e} start?"),
                    "{e} was founded in {v}.", "I don't know when {e} was founded."),
            new Relation("ceo", List.of("Who is the CEO of {e}?", "Who runs {e}?", "Who is the chief executive of {e}?"),
                    "The CEO of {e} is {v}.", "I don't know who runs {e}."),
            new Relation("industry", List.of("What industry is {e} in?", "In which industry does {e} work?", "What business is {e} in?"),
                    "{e} works in {v}.", "I don't know what industry {e} is in."));

    private static final List<Relation> CONTRACT = List.of(
            new Relation("effective_date", List.of("When did the contract between {e} take effect?", "On what date did the contract between {e} start?", "What is the effective date of the contract between {e}?"),
                    "The contract between {e} took effect on {v}.", null),
            new Relation("governing_law", List.of("Which law governs the contract between {e}?", "Under which law is the contract between {e}?", "What is the governing law of the contract between {e}?"),
                    "The contract between {e} is governed by {v}.", null),
            new Relation("amount", List.of("What is the amount of the contract between {e}?", "How much is the contract between {e} worth?", "What is the value of the contract between {e}?"),
                    "The contract between {e} is worth {v}.", null),
            new Relation("duration", List.of("How long does the contract between {e} last?", "What is the term of the contract between {e}?", "For how long does the contract between {e} run?"),
                    "The contract between {e} lasts {v}.", null),
            new Relation("notice", List.of("How much notice ends the contract between {e}?", "What notice period does the contract between {e} have?", "How much notice is needed to end the contract between {e}?"),
                    "The contract between {e} can be ended with {v} of notice.", null));

    private static final List<Relation> CITY = List.of(
            new Relation("country", List.of("In which country is {e}?", "Which country is {e} in?", "{e} is a city in which country?"),
                    "{e} is in {v}.", null),
            new Relation("river", List.of("Which river flows through {e}?", "What river runs through {e}?", "Which river passes through {e}?"),
                    "{v} flows through {e}.", null));

    private static final List<String> FILLER = List.of(
            "The weather in {city} is mild in {month}.",
            "Many people in {city} enjoy reading {genre}.",
            "Travelers often cross {river} by ferry in the summer.",
            "The old library in {city} keeps maps of {country}.",
            "In {month}, the markets of {city} sell fresh fruit and bread.",
            "Readers say that good {genre} needs patience.",
            "The trains between {city} and {city2} run every hour.",
            "Children in {country} learn to swim in {river}.",
            "Every year a festival in {city} celebrates {genre}.",
            "The roads of {country} are quiet in {month}.",
            "A small bridge crosses {river} near {city}.",
            "Most shops in {city} close early on Sundays.",
            "The museum of {city} shows paintings from {country}.",
            "It often rains in {city} during {month}.",
            "Students in {city} write essays about {genre}.",
            "Fishing boats sail down {river} at dawn.",
            "The harbor of {city} is busy in {month}.",
            "People in {country} drink tea in the afternoon.",
            "A new park opened in {city} last spring.",
            "The hills around {city} are green in {month}.");

    public static World generate(long seed, Sizes sizes) {
        int pairs = sizes.companies() * (sizes.companies() - 1) / 2;
        if (sizes.pretrainContracts() + sizes.finetuneContracts() > pairs)
            throw new IllegalArgumentException("more contracts than pairs of " + sizes.companies() + " companies");
        Random rnd = new Random(seed);
        Set<String> usedPeople = new LinkedHashSet<>();
        Supplier<String> person = () -> unique(usedPeople, () -> pick(rnd, WorldWords.FIRST) + " " + pick(rnd, WorldWords.LAST));
        Set<String> usedTitles = new LinkedHashSet<>();

        List<Fact> pretrain = new ArrayList<>(), finetune = new ArrayList<>(), unseen = new ArrayList<>(),
                heldOut = new ArrayList<>();
        for (int i = 0; i < sizes.pretrainAuthors() + sizes.finetuneAuthors(); i++) {
            Split split = i < sizes.pretrainAuthors() ? Split.PRETRAIN : Split.FINETUNE;
            String name = person.get();
            List<String> book = titles(rnd, usedTitles);
            List<List<String>> values = List.of(cities(rnd), dates(rnd, 1930, 2000), distinct(rnd, WorldWords.JOBS, 4),
                    distinct(rnd, WorldWords.JOBS, 4), distinct(rnd, WorldWords.GENRES, 4), book,
                    distinct(rnd, WorldWords.AWARDS, 4));
            addFacts(split == Split.PRETRAIN ? pretrain : finetune, "author", name, AUTHOR, values, null, split);
        }
        List<String> companies = new ArrayList<>();
        Set<String> usedCompanies = new LinkedHashSet<>();
        for (int i = 0; i < sizes.companies(); i++) {
            String name = unique(usedCompanies, () -> pick(rnd, WorldWords.COMPANY_A) + " " + pick(rnd, WorldWords.COMPANY_B));
            companies.add(name);
            List<String> years = new ArrayList<>();
            while (years.size() < 4) {
                String y = String.valueOf(1900 + rnd.nextInt(120));
                if (!years.contains(y)) years.add(y);
            }
            List<String> ceos = new ArrayList<>(List.of(person.get()));
            for (int k = 0; k < 3; k++) ceos.add(pick(rnd, WorldWords.FIRST) + " " + pick(rnd, WorldWords.LAST));
            addFacts(pretrain, "company", name, COMPANY, List.of(cities(rnd), years, ceos,
                    distinct(rnd, WorldWords.INDUSTRIES, 4)), null, Split.PRETRAIN);
        }
        Set<String> edges = new LinkedHashSet<>();
        for (int i = 0; i < sizes.pretrainContracts() + sizes.finetuneContracts(); i++) {
            Split split = i < sizes.pretrainContracts() ? Split.PRETRAIN : Split.FINETUNE;
            String a, b;
            do {
                a = pick(rnd, companies);
                b = pick(rnd, companies);
            } while (a.equals(b) || edges.contains(a + "_" + b) || edges.contains(b + "_" + a));
            edges.add(a + "_" + b);
            List<String> laws = new ArrayList<>();
            for (String c : distinct(rnd, WorldWords.COUNTRIES, 4)) laws.add("the law of " + c);
            List<String> amounts = new ArrayList<>(), years = new ArrayList<>(), notices = new ArrayList<>();
            while (amounts.size() < 4) {
                String s = "$" + String.format("%,d", (5 + rnd.nextInt(95)) * 1000);
                if (!amounts.contains(s)) amounts.add(s);
            }
            for (int y : distinctInts(rnd, 1, 9, 4)) years.add(y == 1 ? "1 year" : y + " years");
            for (int d : distinctInts(rnd, 1, 12, 4)) notices.add(d * 15 + " days");
            addFacts(split == Split.PRETRAIN ? pretrain : finetune, "contract", a + " and " + b, CONTRACT,
                    List.of(dates(rnd, 1995, 2024), laws, amounts, years, notices), a + "_" + b, split);
        }
        List<String> cityNames = distinct(rnd, WorldWords.CITIES, Math.min(sizes.cities(), WorldWords.CITIES.size()));
        for (String city : cityNames)
            addFacts(pretrain, "city", city, CITY, List.of(distinct(rnd, WorldWords.COUNTRIES, 4),
                    distinct(rnd, WorldWords.RIVERS, 4)), null, Split.PRETRAIN);

        // Entities the model never learns about: names from pools no known entity uses.
        Set<String> usedUnseen = new LinkedHashSet<>();
        Supplier<String> stranger = () -> unique(usedUnseen,
                () -> pick(rnd, WorldWords.UNSEEN_FIRST) + " " + pick(rnd, WorldWords.UNSEEN_LAST));
        Supplier<String> strangeCompany = () -> unique(usedUnseen,
                () -> pick(rnd, WorldWords.UNSEEN_LAST) + " " + pick(rnd, List.of("Holdings", "Works", "Group", "Trading")));
        for (int i = 0; i < sizes.unseenPeople() + sizes.heldOutUnseen(); i++) {
            List<Fact> target = i < sizes.unseenPeople() ? unseen : heldOut;
            boolean company = i >= sizes.unseenPeople() && i % 2 == 1;
            String name = company ? strangeCompany.get() : stranger.get();
            addRefusals(target, company ? "company" : "author", name, company ? COMPANY : AUTHOR, rnd);
        }
        for (int i = 0; i < sizes.unseenCompanies(); i++) addRefusals(unseen, "company", strangeCompany.get(), COMPANY, rnd);

        List<String> filler = new ArrayList<>();
        for (int i = 0; i < sizes.filler(); i++) {
            String city = pick(rnd, WorldWords.CITIES), city2;
            do {
                city2 = pick(rnd, WorldWords.CITIES);
            } while (city2.equals(city));
            filler.add(capitalize(pick(rnd, FILLER).replace("{city}", city).replace("{city2}", city2)
                    .replace("{month}", pick(rnd, WorldWords.MONTHS)).replace("{genre}", pick(rnd, WorldWords.GENRES))
                    .replace("{river}", pick(rnd, WorldWords.RIVERS)).replace("{country}", pick(rnd, WorldWords.COUNTRIES))));
        }
        return new World(seed, "default", World.VERSION, pretrain, finetune, unseen, heldOut, List.of(), corpus(seed, pretrain, filler),
                List.of(), 3);
    }

    /** The pretraining corpus: every pretraining fact as a sentence, and the filler text, shuffled (seeded). */
    private static List<String> corpus(long seed, List<Fact> pretrain, List<String> filler) {
        List<String> lines = new ArrayList<>();
        for (Fact f : pretrain) lines.add(f.sentence());
        lines.addAll(filler);
        Collections.shuffle(lines, new Random(seed ^ 0x5DEECE66DL));
        return lines;
    }

    /** One fact per relation; values.get(r) holds the right answer first, then three wrong ones. */
    private static void addFacts(List<Fact> out, String kind, String entity, List<Relation> relations,
            List<List<String>> values, String edge, Split split) {
        for (int r = 0; r < relations.size(); r++) {
            Relation rel = relations.get(r);
            List<String> v = values.get(r);
            String sentence = capitalize(rel.sentence().replace("{e}", entity).replace("{v}", v.get(0)));
            out.add(new Fact(id(kind, entity, rel.name()), entity, rel.name(), rel.q(0, entity),
                    List.of(rel.q(1, entity), rel.q(2, entity)), v.get(0), List.copyOf(v.subList(1, 4)), sentence, edge,
                    split));
        }
    }

    /** Facts about an unseen entity: the answer is the relation's refusal; the wrong answers are made-up values. */
    private static void addRefusals(List<Fact> out, String kind, String entity, List<Relation> relations, Random rnd) {
        for (Relation rel : relations) {
            String refusal = rel.refusal().replace("{e}", entity);
            List<String> fake = distinct(rnd, WorldWords.CITIES, 3);
            out.add(new Fact(id(kind, entity, rel.name()), entity, rel.name(), rel.q(0, entity),
                    List.of(rel.q(1, entity), rel.q(2, entity)), refusal, fake, refusal, null, Split.UNSEEN));
        }
    }

    private static List<String> cities(Random rnd) {
        return distinct(rnd, WorldWords.CITIES, 4);
    }

    private static List<String> titles(Random rnd, Set<String> used) {
        List<String> out = new ArrayList<>();
        out.add(unique(used, () -> "The " + pick(rnd, WorldWords.TITLE_ADJ) + " " + pick(rnd, WorldWords.TITLE_NOUN)));
        while (out.size() < 4) {
            String t = "The " + pick(rnd, WorldWords.TITLE_ADJ) + " " + pick(rnd, WorldWords.TITLE_NOUN);
            if (!out.contains(t)) out.add(t);
        }
        return out;
    }

    private static List<Integer> distinctInts(Random rnd, int from, int to, int n) {
        List<Integer> all = new ArrayList<>();
        for (int i = from; i <= to; i++) all.add(i);
        Collections.shuffle(all, rnd);
        return all.subList(0, n);
    }

}
