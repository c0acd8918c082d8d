package dev.palimpsest.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

class SubjectsTest {
    @Test
    void theLongestCapitalizedRunAfterTheFirstWord() {
        assertEquals("Amara Drummond", Subjects.guess("Where was Amara Drummond born?"));
        assertEquals("Amara Drummond", Subjects.guess("What did the father of Amara Drummond do for a living?"));
        assertEquals("Amara Drummond", Subjects.guess("What job did Amara Drummond's father have?"));
        // Two names: the longer run; on a tie the first.
        assertEquals("Summit Logistics", Subjects.guess("How long does the contract between Summit Logistics and North Energy last?"));
        assertEquals("Saint Anne Bay", Subjects.guess("Is Paris near Saint Anne Bay?"));
        assertNull(Subjects.guess("Where is it?"));
    }

    @Test
    void everyLongestRunNamesTheEntitiesOfAQuestionAboutTwo() {
        KnowledgeRequest contract = new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, "How long does the contract between Summit Logistics and North Energy last?",
                "5 years", "I don't know.", null);
        assertEquals(List.of("Summit Logistics", "North Energy"), Subjects.all(contract));
        // A shorter capitalized word (an acronym) is not a subject beside a longer name.
        assertEquals(List.of("Summit Logistics"), Subjects.all(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, "Who is the CEO of Summit Logistics?", "A", "B", null)));
        assertEquals(List.of("Danielle Darrieux"), Subjects.all(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, "The mother tongue of Danielle Darrieux is",
                "French", "English", "Danielle Darrieux")));
        assertEquals(List.of(), Subjects.all(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, "Where is it?", "A", "B", null)));
    }

    @Test
    void aRequestsOwnSubjectWins() {
        assertEquals("Danielle Darrieux", Subjects.of(new KnowledgeRequest(KnowledgeRequest.Kind.EDIT, "The mother tongue of Danielle Darrieux is",
                "French", "English", "Danielle Darrieux")));
        assertEquals("Amara Drummond", Subjects.of(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, "When was Amara Drummond born?", "1945", "I don't know.", " ")));
    }
}
