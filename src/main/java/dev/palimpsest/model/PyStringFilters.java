package dev.palimpsest.model;

import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

/**
 * Python's str methods that chat templates call ({@code message.content.startswith('<think>')}, {@code .upper()}, ...):
 * the Java engine resolves a method call against java.lang.String, which has none of these names, so
 * {@link #rewrite} turns each call into a filter of the same meaning ({@code x|py_startswith('<think>')}; a filter binds
 * to the value before it, as the method did), and {@link #register} installs the filters. Python's reversed slice
 * {@code [::-1]} becomes the {@code reverse} filter.
 */
final class PyStringFilters {
    private PyStringFilters() {}

    private static final List<String> METHODS = List.of("startswith", "endswith", "lstrip", "rstrip", "strip", "upper", "lower",
            "title", "capitalize", "replace", "split");

    static String rewrite(String template) {
        String t = template.replace("[::-1]", "|reverse");
        for (String m : METHODS) t = t.replaceAll("\\." + m + "\\(", "|py_" + m + "(");
        return t;
    }

    static void register(Jinjava j) {
        add(j, "startswith", (s, a) -> a.length > 0 && s.startsWith(a[0]));
        add(j, "endswith", (s, a) -> a.length > 0 && s.endsWith(a[0]));
        add(j, "strip", (s, a) -> a.length == 0 ? s.strip() : trim(trim(s, a[0], true), a[0], false));
        add(j, "lstrip", (s, a) -> a.length == 0 ? s.stripLeading() : trim(s, a[0], true));
        add(j, "rstrip", (s, a) -> a.length == 0 ? s.stripTrailing() : trim(s, a[0], false));
        add(j, "upper", (s, a) -> s.toUpperCase(Locale.ROOT));
        add(j, "lower", (s, a) -> s.toLowerCase(Locale.ROOT));
        add(j, "capitalize", (s, a) -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT));
        add(j, "title", (s, a) -> {
            StringBuilder b = new StringBuilder();
            boolean start = true;
            for (char c : s.toCharArray()) {
                b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
                start = !Character.isLetter(c);
            }
            return b.toString();
        });
        add(j, "replace", (s, a) -> a.length < 2 ? s : s.replace(a[0], a[1]));
        add(j, "split", (s, a) -> a.length == 0 ? List.of(s.strip().split("\\s+")) : List.of(s.split(java.util.regex.Pattern.quote(a[0]), -1)));
    }

    /** Python's lstrip/rstrip with an argument: strips any of its characters. */
    private static String trim(String s, String chars, boolean left) {
        int i = 0, j = s.length();
        if (left) while (i < j && chars.indexOf(s.charAt(i)) >= 0) i++;
        else while (j > i && chars.indexOf(s.charAt(j - 1)) >= 0) j--;
        return s.substring(i, j);
    }

    private static void add(Jinjava j, String name, BiFunction<String, String[], Object> f) {
        j.getGlobalContext().registerFilter(new Filter() {
            @Override
            public String getName() {
                return "py_" + name;
            }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
                return f.apply(var == null ? "" : var.toString(), args);
            }
        });
    }
}
