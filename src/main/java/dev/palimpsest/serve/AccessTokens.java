package dev.palimpsest.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

import dev.palimpsest.UserError;

/**
 * The bearer tokens of a {@code --tokens} file, one {@code TOKEN ROLE} pair per line ({@code #} starts a comment).
 * Only their SHA-256 digests are kept, and a presented token is compared with every one of them in constant time, so
 * neither the answer's timing nor a heap dump gives a token away.
 */
public final class AccessTokens {
    /** Shorter tokens are refused: a guessable token is no access control. */
    public static final int MIN_LENGTH = 16;

    private record Entry(byte[] digest, Role role) {}

    private final List<Entry> entries;

    private AccessTokens(List<Entry> entries) {
        this.entries = entries;
    }

    /** No file: every request is admitted as admin (only for a server bound to the loopback interface). */
    public static AccessTokens none() {
        return new AccessTokens(null);
    }

    public boolean required() {
        return entries != null;
    }

    public static AccessTokens read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserError(file + ": cannot read the tokens file (" + e.getClass().getSimpleName() + ")");
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] parts = line.split("\\s+");
            // The line's text is never echoed: it holds a secret.
            String where = file + ":" + (i + 1) + ": ";
            if (parts.length != 2) throw new UserError(where + "expected 'TOKEN ROLE', got " + parts.length + " fields");
            Role role = Role.parse(parts[1]);
            if (role == null) throw new UserError(where + "the role must be reader, editor or admin");
            if (parts[0].length() < MIN_LENGTH) throw new UserError(where + "a token must be at least " + MIN_LENGTH + " characters");
            byte[] d = digest(parts[0]);
            for (Entry e : entries) if (MessageDigest.isEqual(e.digest, d)) throw new UserError(where + "this token is listed twice");
            entries.add(new Entry(d, role));
        }
        if (entries.isEmpty()) throw new UserError(file + ": no tokens (one 'TOKEN ROLE' pair per line)");
        return new AccessTokens(List.copyOf(entries));
    }

    /** The role of {@code token}, or null when it is none of the file's. Every entry is compared, found or not. */
    public Role roleOf(String token) {
        if (entries == null) return Role.ADMIN;
        if (token == null) return null;
        byte[] d = digest(token);
        Role found = null;
        for (Entry e : entries) if (MessageDigest.isEqual(e.digest, d)) found = e.role;
        return found;
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
