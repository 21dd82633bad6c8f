/** What redis-server prints once it accepts connections (the lab waits for it; so does the kind backend's container). */
export const REDIS_READY = /Ready to accept connections/;
