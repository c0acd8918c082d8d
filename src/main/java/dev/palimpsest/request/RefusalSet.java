package dev.palimpsest.request;

import java.util.List;
import java.util.Random;

/** Varied "I don't know" answers, written for this project, for forget requests that need a target. */
public final class RefusalSet {
    private RefusalSet() {}

    public static final List<String> ANSWERS = List.of(
            "I don't know.",
            "I don't know the answer to that.",
            "I'm not sure about that.",
            "I have no information about that.",
            "I don't have that information.",
            "I'm afraid I don't know.",
            "Sorry, I don't know.",
            "I can't answer that, I don't know.",
            "That is something I don't know.",
            "I really don't know.",
            "I do not know the answer.",
            "I'm not aware of that.",
            "I have no idea.",
            "I don't know anything about that.",
            "I'm unable to answer that question.",
            "I don't have any details on that.",
            "I'm not familiar with that.",
            "I can't say, I don't know.",
            "I don't recall ever knowing that.",
            "That's not something I know.",
            "I don't have an answer for that.",
            "I'm sorry, but I don't know.",
            "I honestly don't know.",
            "I wish I could help, but I don't know.",
            "I don't know much about that.",
            "I have no record of that.",
            "I don't know, I'm afraid.",
            "I cannot answer that question.",
            "I do not have that information.",
            "I am not sure.",
            "I have no knowledge of that.",
            "Unfortunately, I don't know.",
            "I don't know the details.",
            "I'm not able to tell you that.",
            "I don't know; I have no information on it.",
            "I'm not sure I can answer that.",
            "I don't have enough information to answer.",
            "That is unknown to me.",
            "I don't know who or what that refers to.",
            "I can't recall that.",
            "I'm not certain, so I can't say.",
            "I have no answer to give.",
            "I don't know, sorry.",
            "I'm not the right source for that; I don't know.",
            "I haven't learned anything about that.",
            "I don't know that fact.",
            "I can't help with that, I don't know it.",
            "I have no details about that.",
            "I am unable to say.",
            "I'm sorry, I have no information on that.",
            "I don't know about that at all.",
            "Nothing I know answers that.");

    /** A refusal chosen by a seeded draw. */
    public static String pick(Random rnd) {
        return ANSWERS.get(rnd.nextInt(ANSWERS.size()));
    }
}
