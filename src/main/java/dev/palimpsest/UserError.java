package dev.palimpsest;

/**
 * A problem with the user's input (a file, a field, an option). The CLI prints its message as one
 * line and exits non-zero, without a stack trace. Messages name the file or field at fault.
 */
public class UserError extends RuntimeException {
    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }

    /** User text shortened for a one-line message: at most 40 characters, line breaks shown as \n. */
    public static String quote(String text) {
        String one = text.replace("\r", "\\r").replace("\n", "\\n");
        return one.length() <= 40 ? one : one.substring(0, 37) + "...";
    }
}
