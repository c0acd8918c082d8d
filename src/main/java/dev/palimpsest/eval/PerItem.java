package dev.palimpsest.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;
import dev.palimpsest.io.AtomicFiles;
import dev.palimpsest.io.Json;

/**
 * Every item's values, one JSON object per line (open-unlearning's value_by_index, in a file a person can grep):
 * what was asked, what the model said, the reference and each metric. Also reads back the truth ratios a
 * reference model's run saved, for forget quality without loading that model again.
 */
public final class PerItem {
    private PerItem() {}

    public static void write(Path file, Evaluator.QaResult result) throws IOException {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < result.rows().size(); i++) {
            Evaluator.QaRow r = result.rows().get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", i);
            m.put("id", r.id());
            m.put("question", r.question());
            m.put("answer", r.answer());
            m.put("generated", r.generated());
            m.put("rouge1_recall", r.rouge1Recall());
            m.put("rougeL_recall", r.rougeLRecall());
            m.put("probability", r.probability());
            m.put("probability_per_token", r.probabilityPerToken());
            m.put("mrr", r.mrr());
            m.put("hit_rate", r.hitRate());
            if (r.truthRatio() != null) m.put("truth_ratio", r.truthRatio());
            if (r.optionProbability() != null) m.put("probability_over_options", r.optionProbability());
            m.put("refused", r.refused());
            m.put("names_entities", r.namesEntities());
            m.put("repetition_rate", r.repetition());
            if (r.basePerplexity() != null) m.put("base_perplexity", r.basePerplexity());
            out.append(Json.MAPPER.writeValueAsString(m)).append('\n');
        }
        AtomicFiles.writeString(file, out.toString());
    }

    /**
     * The truth ratios a reference model (TOFU's retain model) had on the forget set, as r = P(truth)/P(wrong)
     * per token (palimpsest's convention). Reads this class's JSONL (field truth_ratio), or open-unlearning's
     * evaluation JSON, whose forget_truth_ratio.value_by_index holds scores P(wrong)/P(truth), inverted here.
     */
    public static double[] referenceTruthRatios(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
        }
        List<Double> out = new ArrayList<>();
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        if (lines.isEmpty()) throw new UserError(file + ": is empty");
        JsonNode first = tryParse(lines.get(0));
        try {
            if (first != null && !first.has("forget_truth_ratio")) {
                for (int i = 0; i < lines.size(); i++) {
                    JsonNode r = Json.MAPPER.readTree(lines.get(i)).path("truth_ratio");
                    if (!r.isMissingNode() && !r.isNumber()) throw new UserError(file + ": line " + (i + 1) + ": truth_ratio is not a number");
                    if (r.isNumber()) out.add(r.asDouble());
                }
            } else {
                JsonNode scores = Json.MAPPER.readTree(text).path("forget_truth_ratio").path("value_by_index");
                if (!scores.isObject())
                    throw new UserError(file + ": neither palimpsest per-item lines (truth_ratio) nor open-unlearning's forget_truth_ratio.value_by_index");
                for (Iterator<JsonNode> it = scores.elements(); it.hasNext();) {
                    JsonNode score = it.next().path("score");
                    if (!score.isNumber() || score.asDouble() <= 0)
                        throw new UserError(file + ": forget_truth_ratio.value_by_index has an entry without a positive score");
                    out.add(1 / score.asDouble());
                }
            }
        } catch (IOException e) {
            throw new UserError(file + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (out.size() < 2) throw new UserError(file + ": forget quality needs at least two reference truth ratios, found " + out.size());
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static JsonNode tryParse(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            return null;
        }
    }
}
