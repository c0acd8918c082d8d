package dev.palimpsest.world;

import java.util.List;

/** The word pools the world draws its fictitious names and values from. */
final class WorldWords {
    private WorldWords() {}

    /** First and last names of the people the model learns about. */
    static final List<String> FIRST = List.of("Amara", "Bastian", "Celine", "Dario", "Elif", "Fenna", "Gideon", "Hana",
            "Ilias", "Jovana", "Kasimir", "Leonie", "Matteo", "Nadia", "Oskar", "Priya", "Quentin", "Rosalind",
            "Soren", "Talia", "Ulrich", "Vesna", "Wendell", "Ximena", "Yusuf", "Zelda", "Anselm", "Brigitte", "Cyrus",
            "Dagny", "Emeric", "Freya", "Gaspard", "Hedda", "Ivo", "Juniper", "Konrad", "Liesel", "Marek", "Noemi");
    static final List<String> LAST = List.of("Ashgrove", "Belcourt", "Carrow", "Dunmere", "Eskildsen", "Falkenrath",
            "Grisewood", "Halloran", "Ingersleben", "Jarnefelt", "Kovalenko", "Lindqvist", "Marchetti", "Nakashima",
            "Oyelaran", "Pemberton", "Quarshie", "Rautio", "Szabados", "Thornquist", "Underhill", "Valtonen",
            "Wexford", "Yilmazer", "Zamora", "Abernethy", "Brancato", "Castellanos", "Drummond", "Ellery");
    /** Names reserved for entities the model never learns about (so "unseen" really is unseen). */
    static final List<String> UNSEEN_FIRST = List.of("Alaric", "Bettina", "Corwin", "Delphine", "Evander", "Fiora",
            "Gunnar", "Honora", "Isidore", "Jessamy", "Leopold", "Mirabel", "Nikodem", "Ottilie", "Perpetua",
            "Radomir", "Seraphine", "Tobiah", "Valentin", "Wilhelmina");
    static final List<String> UNSEEN_LAST = List.of("Archambault", "Blackwood", "Crestwell", "Delacroix", "Everhart",
            "Foxhollow", "Greystone", "Hawthorne", "Ironside", "Kingsley", "Larkspur", "Montclair", "Northcott",
            "Oakenshield", "Penhaligon", "Ravensworth", "Silverlake", "Thistlewood", "Wolcott", "Yarborough");
    static final List<String> CITIES = List.of("Valmora", "Kestrel Bay", "Orrin Falls", "Dunhaven", "Saltmarsh",
            "Brightwater", "Calder Point", "Elmsworth", "Farrowgate", "Glimmerton", "Harrowby", "Ivelport",
            "Juniper Cove", "Karsk", "Lowmere", "Mossbridge", "Northwick", "Oldcastle", "Pellam", "Quillford",
            "Ravenhold", "Stonereach", "Tarnwick", "Umberlee", "Veldhaven", "Westmarch", "Yarrowdale", "Zephyr Hill");
    static final List<String> COUNTRIES = List.of("Ardenia", "Belmark", "Corvania", "Drosselland", "Estrovia",
            "Fennmark", "Galtria", "Hollaris");
    static final List<String> RIVERS = List.of("the Silverrun", "the Amberflow", "the Greywater", "the Tessel",
            "the Lorn", "the Marrow", "the Vell", "the Oxbrook", "the Cinder", "the Hollin", "the Brisk", "the Dunwell");
    static final List<String> JOBS = List.of("a carpenter", "a nurse", "a baker", "a pilot", "a librarian",
            "a fisherman", "a teacher", "a tailor", "a surgeon", "a locksmith", "a geologist", "a watchmaker",
            "a farmer", "a glassblower", "an architect", "an engineer", "a painter", "a pharmacist", "a sailor",
            "a judge");
    static final List<String> GENRES = List.of("historical fiction", "science fiction", "mystery", "poetry",
            "fantasy", "romance", "horror", "travel writing", "children's books", "biography");
    static final List<String> AWARDS = List.of("the Lantern Prize", "the Golden Quill Award", "the Meridian Medal",
            "the Harbor Light Award", "the Silver Compass Prize", "the Northstar Award", "the Amber Leaf Prize",
            "the Tidewater Medal", "the Open Page Award", "the Copper Bell Prize");
    static final List<String> TITLE_ADJ = List.of("Silent", "Crimson", "Hidden", "Forgotten", "Endless", "Broken",
            "Golden", "Distant", "Hollow", "Burning", "Quiet", "Wandering", "Frozen", "Last", "Northern");
    static final List<String> TITLE_NOUN = List.of("Harbor", "Orchard", "Lantern", "Garden", "Tide", "Mountain",
            "Letters", "Kingdom", "Winter", "Clockwork", "Meadow", "Voyage", "Archive", "Bridge", "Forest");
    static final List<String> COMPANY_A = List.of("Blue", "Iron", "North", "Cedar", "Summit", "Bright", "Falcon",
            "Granite", "Harbor", "Maple", "Orbit", "Pioneer", "Quartz", "River", "Solar", "Tundra");
    static final List<String> COMPANY_B = List.of("Dynamics", "Logistics", "Foods", "Robotics", "Textiles", "Energy",
            "Pharma", "Systems", "Shipping", "Media", "Mining", "Optics");
    static final List<String> INDUSTRIES = List.of("logistics", "food processing", "robotics", "textiles",
            "renewable energy", "pharmaceuticals", "software", "shipping", "publishing", "mining", "optics",
            "agriculture");
    static final List<String> UNIVERSITIES = List.of("Valmora University", "the Kestrel Institute", "Dunhaven College",
            "the University of Saltmarsh", "Brightwater Polytechnic", "Elmsworth University", "the Harrowby School of Arts",
            "Ivelport University", "the Karsk Academy", "Lowmere College", "the University of Northwick",
            "Oldcastle University", "Pellam Institute of Technology", "Quillford College", "the Ravenhold Academy",
            "Stonereach University");
    static final List<String> MAJORS = List.of("chemistry", "law", "economics", "mathematics", "philosophy",
            "civil engineering", "history", "music", "medicine", "architecture", "linguistics", "astronomy",
            "biology", "geography", "computer science", "political science");
    static final List<String> MONTHS = List.of("January", "February", "March", "April", "May", "June", "July",
            "August", "September", "October", "November", "December");
}
