// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * PID 1 of the test kernel's initramfs (make test-kernel, tests/kernel/run.sh).
 *
 * Built static: nothing of the host is reachable until its root is mounted.
 * Loads the modules listed in /modules.list (virtio and 9p: Debian builds
 * them as modules), mounts the host's root read-only over 9p (mount tag
 * "root"), moves it onto / and runs the command given after "--" on the
 * kernel command line (the guest script). When it exits, its status is
 * printed on the console and the machine reboots, which qemu -no-reboot
 * turns into an exit. PID 1 reaps every orphan meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT_OPTS "trans=virtio,version=9p2000.L,msize=512000,cache=loose"

static void say(const char *what, const char *arg)
{
	fprintf(stderr, "weft-init: %s%s%s%s%s\n", what, arg ? " " : "", arg ? arg : "",
		errno ? ": " : "", errno ? strerror(errno) : "");
}

static void console(void)
{
	int fd;

	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
		return;
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* Each line of /modules.list names a module file of the initramfs, in
 * dependency order (modprobe --show-depends wrote it on the host). */
static int load_modules(void)
{
	char line[512];
	FILE *f = fopen("/modules.list", "r");
	int fd, err = 0;

	if (!f) {
		say("open", "/modules.list");
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		errno = 0;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			say("load module", line);
			err = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
	return err;
}

static int enter_root(void)
{
	errno = 0;
	mkdir("/newroot", 0755);
	if (mount("root", "/newroot", "9p", MS_RDONLY, ROOT_OPTS) < 0) {
		say("mount the host root (9p tag root)", NULL);
		return -1;
	}
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		say("switch to the host root", NULL);
		return -1;
	}
	return 0;
}

static void halt(int status)
{
	fprintf(stderr, "weft-init: guest command exited %d\n", status);
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			 "HOME=/tmp", "TERM=dumb", "LANG=C.UTF-8", NULL };
	int status, cmd = 1;
	pid_t pid, w;

	console();
	setvbuf(stderr, NULL, _IOLBF, 0);
	while (cmd < argc && strcmp(argv[cmd], "--") == 0)
		cmd++;
	if (cmd >= argc) {
		errno = 0;
		say("no command after -- on the kernel command line", NULL);
		halt(127);
	}
	if (load_modules() < 0 || enter_root() < 0)
		halt(126);
	pid = fork();
	if (pid < 0) {
		say("fork", NULL);
		halt(126);
	}
	if (pid == 0) {
		setsid();
		execve(argv[cmd], argv + cmd, envp);
		say("exec", argv[cmd]);
		_exit(127);
	}
	for (;;) {
		w = wait(&status);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 126 << 8;
			break;
		}
	}
	halt(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
