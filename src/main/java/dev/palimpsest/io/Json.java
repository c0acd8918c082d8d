package dev.palimpsest.io;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;

/**
 * The JSON that palimpsest prints and writes: a number that is not finite (a metric that could not be
 * computed, such as generalization without rephrasings) is written as null, never as "NaN" or Infinity,
 * which are not JSON numbers and which readers would take for a value.
 */
public final class Json {
    private Json() {}

    public static final ObjectMapper MAPPER = new ObjectMapper().registerModule(finiteNumbers());

    private static SimpleModule finiteNumbers() {
        SimpleModule m = new SimpleModule("finite-numbers");
        StdSerializer<Double> doubles = new StdSerializer<>(Double.class) {
            @Override
            public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (Double.isFinite(v)) g.writeNumber(v);
                else g.writeNull();
            }
        };
        StdSerializer<Float> floats = new StdSerializer<>(Float.class) {
            @Override
            public void serialize(Float v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (Float.isFinite(v)) g.writeNumber(v);
                else g.writeNull();
            }
        };
        m.addSerializer(Double.class, doubles);
        m.addSerializer(Double.TYPE, doubles);
        m.addSerializer(Float.class, floats);
        m.addSerializer(Float.TYPE, floats);
        return m;
    }
}
