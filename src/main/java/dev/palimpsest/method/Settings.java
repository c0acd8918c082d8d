package dev.palimpsest.method;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.palimpsest.UserError;

/**
 * A method's settings: the values given as key=value pairs, each checked against the method's declared
 * {@link Setting} (unknown keys, wrong types and values out of range are errors, found before any
 * model is loaded), and the method's defaults for the rest.
 */
public final class Settings {
    private final String method;
    private final Map<String, Setting> declared = new LinkedHashMap<>();
    private final Map<String, Object> given = new LinkedHashMap<>();
    private final Map<String, Object> resolved = new LinkedHashMap<>();

    public Settings(UpdateMethod method, Map<String, String> values) {
        this(method.name(), method.settings(), values);
    }

    Settings(String method, List<Setting> settings, Map<String, String> values) {
        this.method = method;
        for (Setting s : settings) declared.put(s.name(), s);
        for (Map.Entry<String, String> e : values.entrySet()) {
            Setting s = declared.get(e.getKey());
            if (s == null)
                throw new UserError(method + ": unknown setting '" + e.getKey() + "' (known: " + String.join(", ", declared.keySet()) + ")");
            given.put(e.getKey(), s.parse(method, e.getValue()));
        }
    }

    /** Checks key=value settings for a method without applying it (the CLI does this before loading a model). */
    public static void check(UpdateMethod method, Map<String, String> values) {
        new Settings(method, values);
    }

    /** A real setting: the value given, else its constant default. */
    public double real(String key) {
        return record(key, Setting.Type.REAL, false, null, Number.class).doubleValue();
    }

    /** A real setting whose default is a rule: the value given, else {@code computed}, the rule's value. */
    public double real(String key, double computed) {
        return record(key, Setting.Type.REAL, true, computed, Number.class).doubleValue();
    }

    public int integer(String key) {
        return record(key, Setting.Type.INTEGER, false, null, Integer.class);
    }

    public int integer(String key, int computed) {
        return record(key, Setting.Type.INTEGER, true, computed, Integer.class);
    }

    public String text(String key) {
        return record(key, Setting.Type.TEXT, false, null, String.class);
    }

    /** A text setting whose default is a rule; {@code computed} may be null (no value: the method's own default path). */
    public String text(String key, String computed) {
        return record(key, Setting.Type.TEXT, true, computed, String.class);
    }

    /** A {@link Setting#flag} setting. */
    public boolean flag(String key) {
        return text(key).equals("true");
    }

    /** The settings as used (given or default), for the run's record. */
    public Map<String, Object> resolved() {
        return resolved;
    }

    private <T> T record(String key, Setting.Type type, boolean ruled, Object computed, Class<T> as) {
        Setting s = declared.get(key);
        if (s == null || s.type() != type)
            throw new IllegalStateException(method + " reads setting '" + key + "' as " + type + " but declares " + s);
        if (s.ruled() != ruled)
            throw new IllegalStateException(method + " reads setting '" + key + "' " + (ruled ? "with a computed default but declares the constant "
                    + s.constant() : "without a value for its rule '" + s.defaultText() + "'"));
        Object v = given.containsKey(key) ? given.get(key) : ruled ? computed : s.constant();
        if (v != null) resolved.put(key, v);
        return as.cast(v);
    }
}
