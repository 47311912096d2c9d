/* weir error codes.
 *
 * Actions return 0 or a negative WEIR_E_* value. Kafka wire error codes are a
 * separate type (in impl/proto) and never mix with these.
 */
#ifndef WEIR_CORE_ERR_H
#define WEIR_CORE_ERR_H

#define WEIR_MUST_CHECK __attribute__((warn_unused_result))

/* Drops a result on purpose (best-effort cleanup after an earlier error);
 * a (void) cast does not silence warn_unused_result in GCC. */
static inline void weir_ignore(int result)
{
    (void)result;
}

enum weir_err {
    WEIR_OK = 0,
    WEIR_E_INVAL = -1,        /* bad argument or malformed input */
    WEIR_E_NOMEM = -2,        /* allocation failed */
    WEIR_E_IO = -3,           /* I/O error (EIO) */
    WEIR_E_NOENT = -4,        /* no such file, folder or address */
    WEIR_E_EXIST = -5,        /* already exists */
    WEIR_E_NOSPC = -6,        /* disk full */
    WEIR_E_NOTDIR = -7,       /* a path component is not a folder */
    WEIR_E_ISDIR = -8,        /* is a folder */
    WEIR_E_NOTEMPTY = -9,     /* folder not empty */
    WEIR_E_CLOSED = -10,      /* connection or file already closed */
    WEIR_E_CONNREFUSED = -11, /* nobody listens at that address */
    WEIR_E_CONNRESET = -12,   /* peer went away (crash, reset) */
    WEIR_E_ADDRINUSE = -13,   /* address already listened on */
    WEIR_E_FRAME_SIZE = -14,  /* frame size negative or over the limit */
    WEIR_E_TIMEOUT = -15,     /* deadline passed */
    WEIR_E_CORRUPT = -16,     /* bytes from outside fail a check */
    WEIR_E_UNSUPPORTED = -17, /* operation not supported by this backend */
    WEIR_E_AGAIN = -18,       /* try later */
    WEIR_E_RANGE = -19,       /* offset outside the log (before its start or past its end) */
    WEIR_E_PRODUCER = -20,    /* a producer's batch refused by its producer state (log.h) */
};

/* Returns a static, human-readable name for a WEIR_E_* code ("connection reset"). */
const char *weir_err_str(int err);

#endif
