#include "core/err.h"

const char *weir_err_str(int err)
{
    switch (err) {
    case WEIR_OK: return "ok";
    case WEIR_E_INVAL: return "invalid argument";
    case WEIR_E_NOMEM: return "out of memory";
    case WEIR_E_IO: return "I/O error";
    case WEIR_E_NOENT: return "not found";
    case WEIR_E_EXIST: return "already exists";
    case WEIR_E_NOSPC: return "no space left on device";
    case WEIR_E_NOTDIR: return "not a folder";
    case WEIR_E_ISDIR: return "is a folder";
    case WEIR_E_NOTEMPTY: return "folder not empty";
    case WEIR_E_CLOSED: return "closed";
    case WEIR_E_CONNREFUSED: return "connection refused";
    case WEIR_E_CONNRESET: return "connection reset";
    case WEIR_E_ADDRINUSE: return "address in use";
    case WEIR_E_FRAME_SIZE: return "frame size out of range";
    case WEIR_E_TIMEOUT: return "timed out";
    case WEIR_E_CORRUPT: return "corrupt data";
    case WEIR_E_UNSUPPORTED: return "not supported";
    case WEIR_E_AGAIN: return "try again";
    case WEIR_E_RANGE: return "offset out of range";
    case WEIR_E_PRODUCER: return "refused by the producer state";
    }
    return "unknown error";
}
