package dev.palimpsest.serve;

/** A request the service refuses: the HTTP status and one line saying why. */
public final class ApiError extends RuntimeException {
    private final int status;

    public ApiError(int status, String reason) {
        super(reason);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
