package dev.palimpsest.eval;

import java.util.List;
import java.util.Locale;

/** Whether an answer refuses: it says, in one of the usual ways, that the model does not know. */
public final class Refusals {
    private Refusals() {}

    static final List<String> MARKERS = List.of("i don't know", "i do not know", "i don't have", "i do not have",
            "i'm not sure", "i am not sure", "i'm not aware", "i am not aware", "i have no information",
            "i can't answer", "i cannot answer", "i'm unable", "i am unable", "no idea", "not familiar with",
            "i don't recall", "i can't say", "i cannot say", "unknown to me", "i have no record");

    public static boolean isRefusal(String answer) {
        String a = answer.toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        for (String m : MARKERS) if (a.contains(m)) return true;
        return false;
    }
}
