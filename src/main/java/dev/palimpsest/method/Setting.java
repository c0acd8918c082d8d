package dev.palimpsest.method;

import java.util.List;

import dev.palimpsest.UserError;

/**
 * One setting a method accepts: its name, its type and the values that make sense, so that
 * {@code --set lr=-1} or {@code batch=0} is refused before a model is loaded. Defaults stay with the
 * method (many depend on the model).
 */
public record Setting(String name, Type type, double min, boolean minOpen, double max, List<String> choices) {
    public enum Type { REAL, INTEGER, TEXT }

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

    /** Free text (a file, a layer list the method parses). */
    public static Setting text(String name) {
        return new Setting(name, Type.TEXT, 0, false, 0, List.of());
    }

    /** One of the given words. */
    public static Setting oneOf(String name, String... choices) {
        return new Setting(name, Type.TEXT, 0, false, 0, List.of(choices));
    }

    /** The setting and its range, as `methods` lists it: {@code lr in (0, 1000]}, {@code epochs >= 1}, {@code tokens=first|all}. */
    public String describe() {
        return switch (type) {
            case TEXT -> choices.isEmpty() ? name + "=TEXT" : name + "=" + String.join("|", choices);
            case INTEGER -> name + " >= " + (long) min;
            case REAL -> {
                if (min == Double.NEGATIVE_INFINITY) yield name + ": a number";
                if (max == Double.POSITIVE_INFINITY) yield name + (minOpen ? " > " : " >= ") + fmt(min);
                yield name + " in " + (minOpen ? "(" : "[") + fmt(min) + ", " + fmt(max) + "]";
            }
        };
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
