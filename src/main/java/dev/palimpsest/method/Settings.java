package dev.palimpsest.method;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import dev.palimpsest.UserError;

/** A method's settings: documented defaults, overridden by key=value pairs; unknown keys are errors. */
public final class Settings {
    private final String method;
    private final Map<String, String> given;
    private final Set<String> used = new HashSet<>();
    private final Map<String, Object> resolved = new LinkedHashMap<>();

    public Settings(String method, Map<String, String> given) {
        this.method = method;
        this.given = given;
    }

    public double real(String key, double fallback) {
        used.add(key);
        double v = fallback;
        if (given.containsKey(key)) {
            try {
                v = Double.parseDouble(given.get(key));
            } catch (NumberFormatException e) {
                throw new UserError(method + ": setting '" + key + "' must be a number, got '" + given.get(key) + "'");
            }
        }
        resolved.put(key, v);
        return v;
    }

    public int integer(String key, int fallback) {
        used.add(key);
        int v = fallback;
        if (given.containsKey(key)) {
            try {
                v = Integer.parseInt(given.get(key));
            } catch (NumberFormatException e) {
                throw new UserError(method + ": setting '" + key + "' must be an integer, got '" + given.get(key) + "'");
            }
        }
        resolved.put(key, v);
        return v;
    }

    public String text(String key, String fallback) {
        used.add(key);
        String v = given.getOrDefault(key, fallback);
        if (v != null) resolved.put(key, v);
        return v;
    }

    /** The settings as used; fails on keys the method does not know. */
    public Map<String, Object> resolved() {
        for (String k : given.keySet())
            if (!used.contains(k)) throw new UserError(method + ": unknown setting '" + k + "' (known: " + used + ")");
        return resolved;
    }
}
