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

    public double real(String key, double fallback) {
        double v = given.containsKey(key) ? ((Number) given.get(key)).doubleValue() : fallback;
        resolved.put(declare(key, Setting.Type.REAL), v);
        return v;
    }

    public int integer(String key, int fallback) {
        int v = given.containsKey(key) ? (Integer) given.get(key) : fallback;
        resolved.put(declare(key, Setting.Type.INTEGER), v);
        return v;
    }

    public String text(String key, String fallback) {
        String v = given.containsKey(key) ? (String) given.get(key) : fallback;
        declare(key, Setting.Type.TEXT);
        if (v != null) resolved.put(key, v);
        return v;
    }

    /** The settings as used (given or default), for the run's record. */
    public Map<String, Object> resolved() {
        return resolved;
    }

    private String declare(String key, Setting.Type type) {
        Setting s = declared.get(key);
        if (s == null || s.type() != type)
            throw new IllegalStateException(method + " reads setting '" + key + "' as " + type + " but declares " + s);
        return key;
    }
}
