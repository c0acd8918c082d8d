package dev.palimpsest.request;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;


/**
 * Query merging (the editing-as-unlearning paper): several forget questions share one refusal, so
 * they are packed into one request, "q1 q2 … qn" → refusal, and an editor makes one edit instead of n.
 * The last group may be smaller; n = 1 leaves the requests as they are.
 */
public final class QueryMerging {
    private QueryMerging() {}

    /** @param refusalFor the refusal for a merged question (e.g. one naming all of its entities) */
    public static List<KnowledgeRequest> merge(List<KnowledgeRequest> forget, int n, UnaryOperator<String> refusalFor) {
        if (n < 1) throw new IllegalArgumentException("merge size must be at least 1, got " + n);
        if (n == 1) return forget;
        List<KnowledgeRequest> out = new ArrayList<>();
        for (int i = 0; i < forget.size(); i += n) {
            List<KnowledgeRequest> group = forget.subList(i, Math.min(forget.size(), i + n));
            StringBuilder q = new StringBuilder(), a = new StringBuilder();
            for (KnowledgeRequest r : group) {
                q.append(q.length() > 0 ? " " : "").append(r.question());
                a.append(a.length() > 0 ? " " : "").append(r.answer());
            }
            out.add(new KnowledgeRequest(KnowledgeRequest.Kind.FORGET, q.toString(), a.toString(), refusalFor.apply(q.toString()), null));
        }
        return out;
    }
}
