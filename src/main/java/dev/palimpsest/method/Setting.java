package dev.palimpsest.method;

import java.util.List;

import dev.palimpsest.UserError;

/**
 * One setting a method accepts, declared once: its name, its type and the values that make sense (so that
 * {@code --set lr=-1} or {@code batch=0} is refused before a model is loaded), its default and one line on what
 * it does. `methods`, `update --help` and README's table are generated from these declarations.
 * <p>
 * A default is either a constant ({@link #is}), which {@link Settings} returns itself, or a rule that depends on
 * the model or on what an earlier update left ({@link #rule}), stated here in words and computed by the method,
 * which passes the value to {@link Settings}. Reading a constant-default setting with a value of the method's own,
 * or a rule setting without one, is a programming error: a default is written in one place.
 */
public record Setting(String name, Type type, double min, boolean minOpen, double max, List<String> choices,
        Object constant, String defaultText, String doc) {
    public enum Type { REAL, INTEGER, TEXT }

    private Setting(String name, Type type, double min, boolean minOpen, double max, List<String> choices) {
        this(name, type, min, minOpen, max, choices, null, null, null);
    }

    /** This setting with a constant default (a Double, Integer or String as the type says) and its one-line doc. */
    public Setting is(Object value, String doc) {
        Object v = switch (type) {
            case REAL -> ((Number) value).doubleValue();
            case INTEGER -> (Integer) value;
            case TEXT -> (String) value;
        };
        return new Setting(name, type, min, minOpen, max, choices, v, show(v), doc);
    }

    /** This setting with a default the method computes (from the model, an earlier update, another setting), in words. */
    public Setting rule(String defaultText, String doc) {
        return new Setting(name, type, min, minOpen, max, choices, null, defaultText, doc);
    }

    /** A true/false switch. */
    public static Setting flag(String name) {
        return oneOf(name, "true", "false");
    }

    /** Whether the default is a rule the method computes rather than a constant. */
    public boolean ruled() {
        return constant == null;
    }

    /** The range in words: {@code (0, 1000]}, {@code >= 1}, {@code first|all}. */
    public String range() {
        return switch (type) {
            case TEXT -> choices.isEmpty() ? "text" : String.join("|", choices);
            case INTEGER -> max >= Integer.MAX_VALUE ? "integer >= " + (long) min : "integer in [" + (long) min + ", " + (long) max + "]";
            case REAL -> {
                if (min == Double.NEGATIVE_INFINITY) yield "a number";
                if (max == Double.POSITIVE_INFINITY) yield (minOpen ? "> " : ">= ") + fmt(min);
                yield (minOpen ? "(" : "[") + fmt(min) + ", " + fmt(max) + "]";
            }
        };
    }

    /** A default as people write it: 10, 0.5, 0.0625, 5e-3, 2e-5. */
    private static String show(Object v) {
        if (!(v instanceof Double d)) return String.valueOf(v);
        double x = d;
        if (x == Math.rint(x) && Math.abs(x) < 1e6) return String.valueOf((long) x);
        if (Math.abs(x) >= 0.01) return new java.math.BigDecimal(x).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
        String[] parts = String.format(java.util.Locale.ROOT, "%.5e", x).split("e");
        String mantissa = parts[0].replaceAll("0+$", "").replaceAll("\\.$", "");
        return mantissa + "e" + Integer.parseInt(parts[1]);
    }

    /** A real number greater than zero (learning rates, temperatures, norms). */
    public static Setting positive(String name) {
        return new Setting(name, Type.REAL, 0, true, Double.POSITIVE_INFINITY, List.of());
    }

    /**
     * A learning rate: greater than zero and at most 1000. The methods' defaults run from 3e-4 to 1; values far
     * beyond are typos or unit mistakes that only overflow fp32 (GRACE at lr 1e30 wrote values of 6e30, whose
     * squares overflowed the next RMSNorm, so the edited prompts were answered uniformly at random).
     */
    public static Setting learningRate(String name) {
        return new Setting(name, Type.REAL, 0, true, 1000, List.of());
    }

    /** A real number of at least zero (weights of loss terms, decays). */
    public static Setting nonNegative(String name) {
        return new Setting(name, Type.REAL, 0, false, Double.POSITIVE_INFINITY, List.of());
    }

    /** Any finite real number (thresholds on a logit or a cosine). */
    public static Setting real(String name) {
        return new Setting(name, Type.REAL, Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, List.of());
    }

    /** A share in (0, 1]. */
    public static Setting fraction(String name) {
        return new Setting(name, Type.REAL, 0, true, 1, List.of());
    }

    /** An integer of at least {@code min}. */
    public static Setting atLeast(String name, int min) {
        return new Setting(name, Type.INTEGER, min, false, Integer.MAX_VALUE, List.of());
    }

    /** An integer from {@code min} to {@code max}. */
    public static Setting between(String name, int min, int max) {
        return new Setting(name, Type.INTEGER, min, false, max, List.of());
    }

    /** Free text (a file, a layer list the method parses). */
    public static Setting text(String name) {
        return new Setting(name, Type.TEXT, 0, false, 0, List.of());
    }

    /** One of the given words. */
    public static Setting oneOf(String name, String... choices) {
        return new Setting(name, Type.TEXT, 0, false, 0, List.of(choices));
    }

    /** Parses and checks a value given for this setting; {@code method} names it in errors. */
    Object parse(String method, String value) {
        String where = method + ": setting '" + name + "'";
        switch (type) {
            case TEXT -> {
                if (!choices.isEmpty() && !choices.contains(value))
                    throw new UserError(where + " must be one of " + String.join(", ", choices) + ", got '" + value + "'");
                if (value.isBlank()) throw new UserError(where + " is empty");
                return value;
            }
            case INTEGER -> {
                int v;
                try {
                    v = Integer.parseInt(value.strip());
                } catch (NumberFormatException e) {
                    throw new UserError(where + " must be an integer, got '" + value + "'");
                }
                if (v < min) throw new UserError(where + " must be at least " + (long) min + ", got " + v);
                if (v > max) throw new UserError(where + " must be at most " + (long) max + ", got " + v);
                return v;
            }
            default -> {
                double v;
                try {
                    v = Double.parseDouble(value.strip());
                } catch (NumberFormatException e) {
                    throw new UserError(where + " must be a number, got '" + value + "'");
                }
                if (!Double.isFinite(v)) throw new UserError(where + " must be a finite number, got " + value);
                if (minOpen ? v <= min : v < min)
                    throw new UserError(where + " must be " + (minOpen ? "greater than " : "at least ") + fmt(min) + ", got " + value);
                if (v > max) throw new UserError(where + " must be at most " + fmt(max) + ", got " + value);
                return v;
            }
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
