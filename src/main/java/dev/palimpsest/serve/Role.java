package dev.palimpsest.serve;

import java.util.Locale;

/** What a bearer token may do: each role may also do everything the roles before it may. */
public enum Role {
    /** generate, score, health, metrics. */
    READER,
    /** also submit updates and read the audit log. */
    EDITOR,
    /** also revert updates. */
    ADMIN;

    public boolean allows(Role needed) {
        return compareTo(needed) >= 0;
    }

    static Role parse(String word) {
        for (Role r : values()) if (r.name().toLowerCase(Locale.ROOT).equals(word)) return r;
        return null;
    }

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
