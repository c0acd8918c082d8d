package dev.palimpsest.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.UserError;

/** Reads edit requests from ZsRE and CounterFact files in EasyEdit's layout. */
public final class EditReader {
    private EditReader() {}

    public static List<EditItem> read(Path file, DataFormat format) {
        if (!format.isEdit()) throw new UserError(file + ": " + format.name().toLowerCase() + " holds question-answer pairs, not edit requests");
        List<JsonNode> records = QaReader.records(file);
        List<EditItem> out = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            JsonNode r = records.get(i);
            String where = file + ": record " + (i + 1);
            if (!r.isObject()) throw new UserError(where + ": not a JSON object");
            String id = r.hasNonNull("case_id") ? r.get("case_id").asText() : String.valueOf(i + 1);
            if (format == DataFormat.ZSRE) {
                List<String> answers = QaReader.strings(r, "answers", where);
                if (answers.isEmpty()) throw new UserError(where + ": missing field 'answers'");
                out.add(new EditItem(id, QaReader.text(r, "src", where), QaReader.text(r, "subject", where),
                        QaReader.text(r, "alt", where), answers.get(0), QaReader.strings(r, "rephrase", where),
                        List.of(QaReader.text(r, "loc", where)), List.of(QaReader.text(r, "loc_ans", where))));
            } else {
                out.add(new EditItem(id, QaReader.text(r, "prompt", where), QaReader.text(r, "subject", where),
                        QaReader.text(r, "target_new", where), QaReader.text(r, "ground_truth", where),
                        QaReader.strings(r, "rephrase_prompt", where), List.of(QaReader.text(r, "locality_prompt", where)),
                        List.of(QaReader.text(r, "locality_ground_truth", where))));
            }
        }
        return out;
    }
}
