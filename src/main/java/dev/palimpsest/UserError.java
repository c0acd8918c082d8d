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
}
