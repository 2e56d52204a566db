/*
 * test_output_files.c - how outputs are written (include/acthist.h, "How
 * every output of the library is written"): nothing named beside the
 * output until it is complete, even for a process killed mid-write;
 * devices and FIFOs written in place; permissions kept or taken from the
 * umask; directories refused; inputs that are FIFOs refused at once.  The
 * devices are private ones made with mknod in a temporary folder.
 */
#include "acthist.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* The number of entries in dir besides . and .. */
static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void remove_all(void)
{
    DIR *d = opendir(dir);
    char p[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path_in(p, sizeof p, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

/* Mid-write, the directory holds nothing new; commit adds just the file. */
static void test_nothing_named_mid_write(void)
{
    char out[512];
    path_in(out, sizeof out, "p.npy");
    uint64_t shape[2] = {4096, 64};
    static double row[64];
    ah_npy_writer *w;
    ah_diag d;
    int before = entries();
    CHECK(ah_npy_writer_open(&w, out, shape, 2, &d) == AH_OK, "%s", d.message);
    for (int i = 0; i < 2048; i++)
        ah_npy_writer_write(w, row, 64, &d);
    CHECK(entries() == before, "a name appeared mid-write (%d entries)",
          entries());
    ah_npy_writer_abort(w);
    CHECK(entries() == before, "abort left a file");
    CHECK(ah_npy_writer_open(&w, out, shape, 2, &d) == AH_OK, "%s", d.message);
    for (int i = 0; i < 4096; i++)
        ah_npy_writer_write(w, row, 64, &d);
    CHECK(ah_npy_writer_commit(w, &d) == AH_OK, "%s", d.message);
    CHECK(entries() == before + 1, "commit: %d entries", entries());
    remove_all();
}

/* A process killed (SIGKILL: no handler can run) while writing leaves
 * nothing behind, and the file it was replacing is intact. */
static void test_killed_mid_write(void)
{
    char out[512];
    path_in(out, sizeof out, "old.npy");
    uint64_t one = 3;
    double old[3] = {1, 2, 3};
    ah_diag d;
    CHECK(ah_npy_save(out, old, &one, 1, &d) == AH_OK, "%s", d.message);
    int before = entries();
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t shape[2] = {1 << 20, 8};
        static double row[8];
        ah_npy_writer *w;
        if (ah_npy_writer_open(&w, out, shape, 2, NULL) != AH_OK)
            _exit(3);
        for (int i = 0; i < 1000; i++)
            ah_npy_writer_write(w, row, 8, NULL);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the child was not killed (status %d)", status);
    CHECK(entries() == before, "the killed writer left %d entries",
          entries() - before);
    ah_npy_reader *r;
    CHECK(ah_npy_open(&r, out, &d) == AH_OK && ah_npy_rows(r) == 3,
          "the old file was damaged");
    ah_npy_close(r);
    remove_all();
}

/* A character device is written in place and stays a device; a full one
 * reports the error; a FIFO gets the bytes in place. */
static void test_devices(void)
{
    char null_dev[512], full_dev[512], fifo[512];
    path_in(null_dev, sizeof null_dev, "null");
    path_in(full_dev, sizeof full_dev, "full");
    path_in(fifo, sizeof fifo, "fifo");
    ah_diag d;
    struct stat sb;
    if (mknod(null_dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK(ah_file_write(null_dev, "abc", 3, &d) == AH_OK, "%s", d.message);
        CHECK(stat(null_dev, &sb) == 0 && S_ISCHR(sb.st_mode),
              "the device became a regular file");
        uint64_t one = 1;
        double v = 1;
        CHECK(ah_npy_save(null_dev, &v, &one, 1, &d) == AH_OK, "%s",
              d.message);
        CHECK(stat(null_dev, &sb) == 0 && S_ISCHR(sb.st_mode),
              "the device became a regular file (npy)");
    } else {
        printf("test_output_files: mknod not permitted (%s): devices "
               "skipped\n", strerror(errno));
    }
    if (mknod(full_dev, S_IFCHR | 0666, makedev(1, 7)) == 0) {
        int st = ah_file_write(full_dev, "abc", 3, &d);
        CHECK(st == AH_ERR_IO && strstr(d.message, "No space left"),
              "a full device: %d %s", st, d.message);
        CHECK(stat(full_dev, &sb) == 0 && S_ISCHR(sb.st_mode),
              "the full device became a regular file");
    }
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        char buf[8] = {0};
        int fd = open(fifo, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof buf);
        _exit(n == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : 1);
    }
    CHECK(ah_file_write(fifo, "hello", 5, &d) == AH_OK, "%s", d.message);
    int status = 1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the FIFO's reader did not get the bytes");
    CHECK(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    /* A FIFO as an input: refused at once (open() would wait forever). */
    ah_npy_reader *r;
    CHECK(ah_npy_open(&r, fifo, &d) == AH_ERR_IO &&
              strstr(d.message, "not a regular file"),
          "npy from a FIFO: %s", d.message);
    ah_model *m;
    CHECK(ah_model_load(&m, fifo, &d) == AH_ERR_IO &&
              strstr(d.message, "not a regular file"),
          "model from a FIFO: %s", d.message);
    remove_all();
}

/* Modes: a new file gets 0666 & ~umask; a replaced one keeps its mode. */
static void test_modes(void)
{
    char a[512], b[512], sub[512];
    path_in(a, sizeof a, "a.txt");
    path_in(b, sizeof b, "b.txt");
    path_in(sub, sizeof sub, "sub");
    ah_diag d;
    struct stat sb;
    mode_t old = umask(077);
    CHECK(ah_file_write(a, "x", 1, &d) == AH_OK, "%s", d.message);
    umask(old);
    CHECK(stat(a, &sb) == 0 && (sb.st_mode & 0777) == 0600,
          "umask 077 gave mode %o", (unsigned)(sb.st_mode & 0777));
    CHECK(ah_file_write(b, "x", 1, &d) == AH_OK, "%s", d.message);
    chmod(b, 0600);
    CHECK(ah_file_write(b, "yy", 2, &d) == AH_OK, "%s", d.message);
    CHECK(stat(b, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 2,
          "a 0600 file replaced became %o", (unsigned)(sb.st_mode & 0777));
    /* A directory is refused and left alone. */
    mkdir(sub, 0755);
    CHECK(ah_file_write(sub, "x", 1, &d) == AH_ERR_IO &&
              strstr(d.message, "is a directory"),
          "a directory: %s", d.message);
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode), "the directory is gone");
    rmdir(sub);
    remove_all();
}

int main(void)
{
    check_init();
    snprintf(dir, sizeof dir, "/tmp/ah_outputs.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_nothing_named_mid_write();
    test_killed_mid_write();
    test_devices();
    test_modes();
    remove_all();
    rmdir(dir);
    return check_done("test_output_files");
}
