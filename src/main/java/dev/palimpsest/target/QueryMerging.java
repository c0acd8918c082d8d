package dev.palimpsest.target;

import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.method.KnowledgeRequest;

/**
 * Query merging (the editing-as-unlearning paper): several forget questions share one refusal, so
 * they are packed into one request, "q1 q2 … qn" → refusal, and an editor makes one edit instead of n.
 * The last group may be smaller.
 */
public final class QueryMerging {
    private QueryMerging() {}

    public static List<KnowledgeRequest> merge(List<KnowledgeRequest> forget, int n, String refusal) {
        if (n < 1) throw new IllegalArgumentException("merge size must be at least 1, got " + n);
        List<KnowledgeRequest> out = new ArrayList<>();
        for (int i = 0; i < forget.size(); i += n) {
            List<KnowledgeRequest> group = forget.subList(i, Math.min(forget.size(), i + n));
            if (group.size() == 1 && n == 1) {
                KnowledgeRequest r = group.get(0);
                out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, r.question(), r.answer(), refusal, r.subject(), r.rephrases()));
                continue;
            }
            StringBuilder q = new StringBuilder(), a = new StringBuilder();
            for (KnowledgeRequest r : group) {
                q.append(q.length() > 0 ? " " : "").append(r.question());
                a.append(a.length() > 0 ? " " : "").append(r.answer());
            }
            out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.toString(), a.toString(), refusal, null, List.of()));
        }
        return out;
    }
}
