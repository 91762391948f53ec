/*
 * ekkod.h -- the daemon's internal interfaces, grouped by file.
 */
#ifndef EKKOD_H
#define EKKOD_H

#include <sys/types.h>
#include <sys/uio.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cidr.h"
#include "ev.h"
#include "frame.h"
#include "net.h"
#include "proxy.h"

#define EKKOD_CONF	EKKO_SYSCONFDIR "/ekko/ekkod.conf"
#define MAX_WORKERS	256		/* per generation */
#define SB_SLOTS	(2 * MAX_WORKERS + 16)	/* old + new generation */
#define CONF_STR	256
#ifndef EKKO_LATENCY
#define EKKO_LATENCY	1	/* make LATENCY=0: no request histogram */
#endif
#define MAX_LISTENERS	64

/* ---- config.c, config_listener.c ---- */

enum mode {
	MODE_ECHO,
	MODE_COMMAND,
	MODE_METRICS,		/* HTTP GET /metrics (metrics.c) */
	MODE_AGENT		/* haproxy agent-check: one line, close */
};

struct listener_conf {
	char			 address[64];
	int			 port;
	struct net_addr		 addr;
	enum mode		 mode;
	struct framer		 framer;
	struct cidr		*allow;
	size_t			 nallow;
	struct cidr		*deny;
	size_t			 ndeny;
	enum proxy_mode		 proxy;		/* a header before the client's */
	struct cidr		*proxy_allow;	/* who may send one */
	size_t			 nproxy_allow;
	int			 fd;		/* filled by listen.c */
	int			 line;		/* in the config, for errors */
};

struct limits_conf {
	long	 max_connections;
	long	 per_ip_connections;
	long	 max_frame;
	long	 idle_timeout;
	long	 frame_timeout;
	long	 write_timeout;
	long	 max_output;
	long	 max_memory;	/* all connection buffers, all workers */
};

struct tcp_conf {
	int	 nodelay;
	int	 keepalive;
	int	 backlog;
	int	 rcvbuf;
	int	 sndbuf;
	int	 reuseport;
};

struct config {
	char			*path;
	int			 workers;
	int			 workers_auto;
	char			 user[CONF_STR];
	char			 group[CONF_STR];
	char			 pidfile[CONF_STR];
	int			 shutdown_timeout;
	int			 worker_timeout;
	int			 drain_delay;	/* lame duck before QUIT */
	int			 log_facility;
	int			 log_level;
	char			 log_ident[CONF_STR];
	struct limits_conf	 limits;
	struct tcp_conf		 tcp;
	struct cidr		*admin_allow;
	size_t			 nadmin;
	struct listener_conf	*listeners;
	size_t			 nlisteners;
};

#define CONFIG_PIDFILE_SCAN	(1 << 20)	/* bytes read by -s, broken file */

struct config_errors {
	int	 n;
	char	**msgs;
};


struct config	*config_defaults(void);
struct config	*config_load_file(const char *, struct config_errors *);
struct config	*config_load_string(const char *, const char *,
		    struct config_errors *);
void		 config_free(struct config *);
int		 config_pidfile_of(const char *, char *, size_t);
int		 config_pidfile_scan(char *, char *, size_t);
void		 config_errors_free(struct config_errors *);
const char	*config_mode_name(enum mode);

/* ---- log.c ---- */

struct log_limit {
	uint64_t	 window_ms;
	unsigned int	 count;
	unsigned int	 suppressed;
};

void	 log_init(const char *, int, int, int);
void	 log_reconfigure(const char *, int, int);
void	 log_set_foreground(int);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_limited(struct log_limit *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
int	 log_facility_from_name(const char *);
int	 log_level_from_name(const char *);

/* ---- sig.c ---- */

enum sig_action {
	SIG_ACT_NONE,
	SIG_ACT_RELOAD,
	SIG_ACT_STOP,
	SIG_ACT_QUIT,
	SIG_ACT_STATS,
	SIG_ACT_MORE,
	SIG_ACT_FEWER,
	SIG_ACT_CHILD,
	SIG_ACT_UPGRADE,
	SIG_ACT_DRAIN,
	SIG_ACT_UNDRAIN
};

int		 sig_from_name(const char *);
enum sig_action	 sig_action_of(int);
const char	*sig_name(int);
void		 sig_block_all(void);
void		 sig_unblock_all(void);
int		 sig_master_fd(void);
void		 sig_worker_setup(void);

/* ---- proc.c ---- */

enum status_words {
	STATUS_WORDS_LOG,	/* "exited with status 1", "killed by SIGHUP" */
	STATUS_WORDS_STATS	/* "exit 1", "signal 9" */
};

int	 proc_daemonize(void);
void	 proc_ready(int *);
int	 proc_drop_privileges(const char *, const char *, char *, size_t);
int	 proc_cpu_count(void);
const char *proc_status_text(int, enum status_words, char *, size_t);

/* ---- pidfile.c ---- */

int	 pidfile_open(const char *, char *, size_t);
int	 pidfile_lock(int, const char *, char *, size_t);
int	 pidfile_write(int, pid_t);
pid_t	 pidfile_find_master(const char *, char *, size_t);
void	 pidfile_remove(const char *, int);
void	 pidfile_status_path(const char *, char *, size_t);
int	 pidfile_status_open(const char *, char *, size_t);
size_t	 pidfile_status_format(char *, size_t, unsigned long long,
	    const char *, const struct config_errors *, const char *);
int	 pidfile_status_write(int, const char *, size_t);
unsigned long long pidfile_status_parse(char *);

/* ---- listen.c ---- */

struct listen_set {
	int		 n;
	struct net_addr	 addr[MAX_LISTENERS];
	int		 fd[MAX_LISTENERS];
};

int	 listen_open(struct config *, const struct listen_set *,
	    struct listen_set *, char *, size_t);
void	 listen_close_unused(const struct listen_set *,
	    const struct listen_set *);
void	 listen_close_all(struct listen_set *);
int	 listen_adopt_systemd(struct listen_set *);
int	 listen_bind(const struct config *, const struct net_addr *, int,
	    char *, size_t);
void	 listen_retune(const struct config *, const struct listen_set *);
int	 listen_reuseport(int);

/* ---- scoreboard.c ---- */

enum worker_state {
	WS_FREE,
	WS_STARTING,
	WS_SERVING,
	WS_DRAINING,
	WS_BACKOFF
};

enum err_kind {
	ERR_FRAME_TOO_LARGE,
	ERR_TIMEOUT_IDLE,
	ERR_TIMEOUT_FRAME,
	ERR_TIMEOUT_WRITE,
	ERR_DENIED,
	ERR_FORBIDDEN,
	ERR_UNKNOWN_OP,
	ERR_EMPTY_FRAME,
	ERR_MAX_CONNECTIONS,
	ERR_PER_IP,
	ERR_ACCEPT,
	ERR_RESET,
	ERR_NOMEM,
	ERR_MEMORY,		/* closed at the worker's max_memory share */
	ERR_PROXY,		/* PROXY header bad, cut short or late */
	ERR_HTTP,		/* a malformed HTTP request (metrics) */
	ERR_NKINDS
};

/*
 * ekko_request_duration_seconds, one per listener mode: counts per
 * bucket (not cumulative; the last is above 1 s), their total, and the
 * sum of the durations.  Bounds in metrics.c.
 */
#define LAT_BUCKETS	20		/* 19 bounds, 1 us .. 1 s, and +Inf */
#define LAT_MODES	4		/* one per enum mode */

struct sb_hist {
	_Atomic uint64_t	 bucket[LAT_BUCKETS];
	_Atomic uint64_t	 sum_ns;
};

/*
 * One slot per worker.  The master writes the first cache lines, the
 * worker alone writes its counters, each on lines of their own, so the
 * hot path never shares a line with another writer.
 */
struct sb_slot {
	_Atomic int		 pid;
	_Atomic int		 state;
	int			 generation;
	int			 respawns;
	int			 last_exit;	/* wait status, -1 none */
	uint64_t		 started_ms;
	_Alignas(128) _Atomic uint64_t heartbeat_ms;
	_Atomic uint64_t	 accepted;
	_Atomic uint64_t	 requests;
	_Atomic uint64_t	 bytes_in;
	_Atomic uint64_t	 bytes_out;
	_Atomic uint64_t	 errors[ERR_NKINDS];
#ifdef EKKO_COUNT_COPIES
	_Atomic uint64_t	 copied[2];	/* buf_copied, published */
#endif
	/*
	 * Connections this worker holds or is admitting.  The global figure
	 * is the sum over slots, so a worker's death (its slot is zeroed on
	 * reap) can neither leak nor wrap it.  A line of its own: every
	 * accept reads it in every slot, which must not disturb the hot
	 * request counters above.
	 */
	_Alignas(128) _Atomic uint64_t conns_active;
	_Alignas(128) struct sb_hist lat[LAT_MODES];	/* its own lines */
};

struct sb_totals {
	_Atomic uint64_t	 accepted;
	_Atomic uint64_t	 requests;
	_Atomic uint64_t	 bytes_in;
	_Atomic uint64_t	 bytes_out;
	_Atomic uint64_t	 errors[ERR_NKINDS];
	struct sb_hist		 lat[LAT_MODES];
};

struct scoreboard {
	pid_t			 master_pid;
	uint64_t		 start_wall;
	uint64_t		 start_ms;
	_Atomic int		 generation;
	_Atomic int		 workers_configured;
	_Atomic int		 workers_running;
	_Atomic uint64_t	 respawns;
	_Atomic uint64_t	 reloads;
	_Atomic uint64_t	 reloads_failed;
	_Atomic uint64_t	 upgrades;
	char			 last_reload[256];
	uint64_t		 perip_key[2];
	struct sb_totals	 retired;	/* from workers gone */
	_Atomic int		 slots_hi;	/* highest slot used + 1 */
	_Atomic int		 lameduck;	/* enum lameduck (lameduck.c) */
	_Alignas(128) _Atomic uint64_t conns_rejected;
	_Alignas(128) struct sb_slot slot[SB_SLOTS];
};

extern struct scoreboard *sb;

/*
 * Add n to a counter of our own slot.  One writer per counter, so a
 * relaxed load and store: no locked read-modify-write on the hot path.
 */
static inline void
sb_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

int		 scoreboard_create(long);
void		 scoreboard_destroy(void);
void		 scoreboard_claim(int);
void		 scoreboard_retire(int);
int		 scoreboard_conn_take(struct sb_slot *, long);
void		 scoreboard_conn_give(struct sb_slot *);
uint64_t	 scoreboard_conns_active(void);
const char	*scoreboard_state_name(int);
const char	*scoreboard_err_name(int);
size_t		 scoreboard_format(char *, size_t);

/*
 * The figures STATS and /metrics report: one table each for the global
 * and the per-worker figures, in STATS order (scoreboard.c).
 */
enum fig_type {
	FIG_COUNTER,		/* only goes up: a metric ending in _total */
	FIG_GAUGE,
	FIG_STATE,		/* one of scoreboard_state_name's */
	FIG_TEXT		/* STATS only */
};

struct sb_fig {
	const char	*key;		/* in STATS (after "worker.N.") */
	enum fig_type	 type;
	const char	*metric;	/* its name after ekko_; NULL: key */
	const char	*help;
};

struct sb_value {
	uint64_t	 u;
	double		 d;		/* when is_double */
	int		 is_double;
	const char	*text;		/* FIG_TEXT, FIG_STATE */
	char		 buf[32];
};

enum sb_global_fig {
	SBG_UPTIME, SBG_PID, SBG_GENERATION, SBG_WORKERS_CONFIGURED,
	SBG_WORKERS_RUNNING, SBG_RESPAWNS, SBG_RELOADS, SBG_RELOADS_FAILED,
	SBG_LAST_RELOAD, SBG_CONNS_ACTIVE, SBG_CONNS_TOTAL,
	SBG_CONNS_REJECTED, SBG_REQUESTS, SBG_BYTES_IN, SBG_BYTES_OUT,
	SBG_VERSION, SBG_UPGRADES, SBG_DRAINING, SBG_N
};

enum sb_worker_fig {
	SBW_PID, SBW_GENERATION, SBW_STATE, SBW_ACCEPTED, SBW_CONNS_ACTIVE,
	SBW_REQUESTS, SBW_BYTES_IN, SBW_BYTES_OUT, SBW_HEARTBEAT_AGE,
	SBW_RESPAWNS, SBW_LAST_EXIT, SBW_N
};

extern const struct sb_fig sb_global_figs[SBG_N];
extern const struct sb_fig sb_worker_figs[SBW_N];

void		 scoreboard_global_value(int, uint64_t, struct sb_value *);
void		 scoreboard_worker_value(int, int, uint64_t, struct sb_value *);
uint64_t	 scoreboard_errors(int);
void		 scoreboard_latency(struct sb_hist *);
/* ---- lameduck.c ---- */

/*
 * The daemon's answer to load balancers, one word in the scoreboard.
 * The master sets it on signals and stops; a DRAIN request changes it
 * with a compare-and-swap, which cannot undo a stop.
 */
enum lameduck {
	LD_SERVING,		/* take new clients */
	LD_DRAINING,		/* lame duck asked for: -s drain, DRAIN */
	LD_QUITTING,		/* lame duck of a graceful stop (drain_delay) */
	LD_DOWN			/* stopping: listeners closing */
};

int		 lameduck_get(void);
int		 lameduck_draining(void);
int		 lameduck_enter(void);
int		 lameduck_leave(void);
void		 lameduck_stop(int);
const char	*lameduck_word(void);

/* ---- perip.c ---- */

int	 perip_create(long, const uint64_t *);
void	 perip_destroy(void);
int	 perip_acquire(const uint8_t *, int, long);
void	 perip_release(const uint8_t *, int);
void	 perip_forget_slot(int);
extern void (*perip_fault_hook)(void);	/* tests only */

/* ---- sdnotify.c ---- */

void	 sdnotify_init(void);
int	 sdnotify(const char *, ...) __attribute__((format(printf, 1, 2)));
uint64_t sdnotify_watchdog_ms(void);

/* ---- the master-worker channel (master.c, spawn.c, worker.c) ---- */

/*
 * One byte a message on the socket pair between the master and each
 * worker (nginx's NGX_CMD_*).  The values are the bytes on the wire.
 */
enum chan_cmd {
	CHAN_READY = 'R',	/* worker: serving, every listener watched */
	CHAN_DRAIN = 'D',	/* reload, upgrade: stop accepting, finish */
	CHAN_QUIT = 'Q',	/* graceful stop, one worker fewer: also close
				 * idle connections now */
	CHAN_STOP = 'T'		/* fast stop: exit now */
};

/* ---- master.c ---- */

/* How the master is stopping; it serves on while STOP_NONE. */
enum stop_mode {
	STOP_NONE,
	STOP_FAST,		/* TERM, INT: workers exit now */
	STOP_GRACEFUL,		/* QUIT: workers drain, then exit */
	STOP_UPGRADE		/* a new master serves: ours drain */
};

/* Masks of enum worker_state, for spawn_count(). */
#define WS_BIT(s)	(1U << (s))
#define WS_ALIVE	(WS_BIT(WS_STARTING) | WS_BIT(WS_SERVING) | \
			    WS_BIT(WS_DRAINING))
#define WS_UP		(WS_BIT(WS_STARTING) | WS_BIT(WS_SERVING))
#define GEN_ANY		(-1)

/*
 * The master's view of one worker; the index is its scoreboard slot.
 * STARTING until it says CHAN_READY, then SERVING; DRAINING once told
 * to stop (never respawned); FREE when gone, or BACKOFF when it is to
 * be respawned later.  The worker writes its own view to the
 * scoreboard; the master trusts only this one.
 */
struct wproc {
	pid_t		 pid;		/* 0 unless alive (WS_ALIVE) */
	int		 gen;
	int		 chan;
	enum worker_state state;
	int		 hung;		/* sent SIGABRT: no heartbeat */
	uint64_t	 started_ms;
	uint64_t	 kill_ms;	/* SIGKILL when reached, 0 = never */
	uint64_t	 respawn_ms;
};

/* An upgrade in progress, as the old master sees it (upgrade.c). */
#define UPGRADE_MSGS	8
struct upgrade {
	pid_t			 pid;		/* the new master, 0: none */
	int			 chan;		/* our end of the pair */
	uint64_t		 deadline;	/* "R" by then, or rollback */
	uint64_t		 kill_ms;	/* SIGKILL when reached */
	int			 failed;
	int			 reaped;
	pid_t			 for_pid;	/* who asked (-s upgrade) */
	char			 in[1024];
	size_t			 inlen;
	char			 msgs[UPGRADE_MSGS][256];
	int			 nmsgs;
};

/* What a new master started by an upgrade inherits (EKKOD_UPGRADE). */
struct upgrade_child {
	int			 chan;		/* to the old master, or -1 */
	int			 pidfd;
	int			 statusfd;
	uint64_t		 seq;		/* the status file's next seq */
	uint64_t		 upgrades;
	int			 draining;	/* the old one was a lame duck */
};

/* The files and links master_main is given, and what it reports. */
struct master_files {
	int			 pidfd;
	int			 statusfd;
	int			 ready_fd;	/* the daemonizing parent */
	struct upgrade_child	 parent;	/* when started by an upgrade */
	int			 owner;		/* out: ours to remove at exit */
};

struct master {
	struct config		*cf;		/* the serving generation's */
	struct listen_set	 ls;
	struct config		*next_cf;	/* a reload in progress */
	struct listen_set	 next_ls;
	uint64_t		 reload_deadline;
	int			 reload_pending;
	pid_t			 reload_for;	/* who asked (for -s reload) */
	pid_t			 pending_for;
	pid_t			 requester;	/* the signal being handled */
	int			 generation;
	int			 target;	/* workers wanted (TTIN/TTOU) */
	struct wproc		 w[SB_SLOTS];
	int			 sigfd;
	struct ev		 ev;
	enum stop_mode		 stopping;
	uint64_t		 stop_deadline;
	uint64_t		 quit_at;	/* end of drain_delay: stop */
	int			 fast_deaths;
	int			 throttled;
	int			 pidfd;
	int			 statusfd;
	uint64_t		 reload_seq;
	uint64_t		 now;
	uint64_t		 status_ms;
	uint64_t		 status_requests;
	uint64_t		 watchdog_ms;
	int			 ready_sent;	/* READY=1 told to systemd */
	int			 ready_fd;	/* the daemonizing parent */
	struct upgrade		 up;		/* as the old master */
	int			 parent_chan;	/* as a new one, until "G" */
	int			 handed_over;	/* a new master serves */
	int			 owner;		/* of the pidfile, status */
};

int	 master_main(struct config *, struct listen_set *,
	    struct master_files *);
void	 master_status_file(struct master *, pid_t, const char *,
	    struct config_errors *, const char *);
void	 master_handover(struct master *);

/* ---- upgrade.c ---- */

/*
 * What the old and the new master say on the upgrade pair: a line
 * "E message" or "R version" from the new one, the byte "G" back.  The
 * two may be different builds, so these bytes never change.
 */
enum upgrade_msg {
	UPGRADE_ERROR = 'E',	/* new -> old: an error; it exits */
	UPGRADE_READY = 'R',	/* new -> old: every new worker is ready */
	UPGRADE_SERVE = 'G'	/* old -> new: switched, serve as the master */
};

void	 upgrade_init(int, char **);
int	 upgrade_child_info(struct upgrade_child *);
void	 upgrade_child_say(int, enum upgrade_msg, const char *);
void	 upgrade_start(struct master *);
void	 upgrade_channel(struct master *);
int	 upgrade_reaped(struct master *, pid_t, int);
void	 upgrade_tick(struct master *);
void	 upgrade_abort(struct master *, const char *);

/* ---- spawn.c ---- */

int	 spawn_worker(struct master *, int, struct config *, int);
int	 spawn_free_slot(const struct master *);
void	 spawn_reap(struct master *);
void	 spawn_backoff_tick(struct master *);
int	 spawn_count(const struct master *, int, unsigned int);
void	 spawn_tell(struct master *, int, enum chan_cmd);

/* ---- worker.c ---- */

enum timer_kind {
	TIMER_IDLE,
	TIMER_FRAME,
	TIMER_WRITE,
	TIMER_BUF,		/* an emptied large input buffer */
	NTIMERS
};

struct conn;

/* A socket a worker accepts on: shared, or its own with reuseport. */
struct wlisten {
	struct listener_conf	*l;
	int			 fd;		/* -1 once closed */
	int			 own;
};

/* A limit's episodes as reported: when last, and how many held back. */
struct episode_log {
	uint64_t		 last_ms;
	unsigned int		 held;
};

#define WORKER_MAX_LISTEN	128

/*
 * The lists the connection layer keeps in its worker: per timer kind,
 * the connections in the order they were stamped (conn.c), and the free
 * buffer blocks (connbuf.c).
 */
struct conn_lists {
	struct conn		*timer_head[NTIMERS];
	struct conn		*timer_tail[NTIMERS];
	void			*pool;		/* free buffer blocks */
	int			 npool;
};

/* How a worker drains, as the master's command asked. */
enum drain_mode {
	DRAIN_NONE,		/* serving */
	DRAIN_FINISH,		/* CHAN_DRAIN: connections finish; idle
				 * ones close at shutdown_timeout */
	DRAIN_QUIT		/* CHAN_QUIT: idle ones close now, the rest
				 * at shutdown_timeout */
};

struct worker {
	struct config		*cf;
	struct sb_slot		*slot;
	int			 slotno;
	int			 chan;
	struct ev		 ev;
	struct conn		*conns;		/* indexed by fd */
	int			 maxfd;
	uint64_t		 now;
	uint64_t		 lat_mark;	/* ns: the last clock read */
	int			 nconns;
	int			 conn_limit;	/* per-process fd budget */
	struct wlisten		 lst[WORKER_MAX_LISTEN];
	int			 nlst;
	int			 accepting;
	int			 at_limit;	/* fd budget reached */
	int			 at_limit_said;	/* that episode was logged */
	struct episode_log	 fd_limit_log;
	struct episode_log	 pause_log;
	int			 accepts_since_arm;
	uint32_t		 listen_events;
	int			 accept_paused;	/* EMFILE and the like */
	uint64_t		 accept_resume_ms;
	enum drain_mode		 draining;
	uint64_t		 drain_deadline;
	int			 closing_idle;
	int			 quit;
	uint8_t			*scratch;
	size_t			 scratch_size;
	struct buf		 reply;
	struct conn_lists	 lists;
	size_t			 mem_held;	/* buffer bytes allocated */
	uint64_t		 mem_full_ms;	/* last time at the share */
	size_t			 mem_wait_free;	/* free when one last waited */
	struct conn		*memwait;	/* waiting for memory to read */
	struct log_limit	 log_conn;
	struct log_limit	 log_accept;
};

void	 worker_main(struct config *, int, int) __attribute__((noreturn));
void	 worker_count_closed(struct worker *);
int	 worker_admit_client(struct worker *, struct conn *);

/* ---- conn.c ---- */

struct conn {
	int			 fd;
	uint16_t		 flags;
	struct listener_conf	*l;
	uint8_t			 peer[16];	/* for per-IP accounting */
	struct buf		 in;
	struct buf		 out;
	size_t			 scanned;
	uint64_t		 since[NTIMERS];
	struct conn		*prev[NTIMERS];
	struct conn		*next[NTIMERS];
	struct conn		*mem_prev;	/* on w->memwait */
	struct conn		*mem_next;
};

#define CONN_OPEN	0x0001
#define CONN_READING	0x0002	/* EPOLLIN wanted */
#define CONN_WRITING	0x0004	/* EPOLLOUT wanted */
#define CONN_EOF	0x0008	/* peer half-closed */
#define CONN_CLOSING	0x0010	/* close once output is flushed */
#define CONN_ADMIN	0x0020	/* peer in admin_allow */
#define CONN_PAUSED	0x0040	/* input held back by backpressure */
#define CONN_PERIP	0x0080	/* counted in the per-IP table */
#define CONN_INTIMER(k)	(0x0100 << (k))	/* 0x100 .. 0x800 */
#define CONN_DEAD	0x1000	/* socket failed: close, send nothing */
#define CONN_MEMWAIT	0x2000	/* reading held back: worker at its share */
#define CONN_PROXY	0x4000	/* its PROXY header is still to come */

void	 conn_open(struct worker *, int, struct listener_conf *, int,
	    const uint8_t *, int);
void	 conn_close(struct worker *, struct conn *);
void	 conn_event(struct worker *, struct conn *, uint32_t);
void	 conn_expire(struct worker *);
int	 conn_is_idle(const struct conn *);
void	 conn_drain_idle(struct worker *);
void	 conn_release_buffers(struct worker *);
/* for connring.c and connproxy.c, the layers under conn_readable */
void	 conn_nomem(struct worker *, struct conn *, int);
void	 conn_send(struct worker *, struct conn *, const uint8_t *, size_t);
void	 conn_sendv(struct worker *, struct conn *, struct iovec *, int);
int	 conn_output_full(struct worker *, const struct conn *);
void	 conn_too_large(struct worker *, struct conn *);
size_t	 conn_process(struct worker *, struct conn *, uint8_t *,
	    size_t);
void	 conn_keep_rest(struct worker *, struct conn *, const uint8_t *,
	    size_t);
void	 conn_input_buffered(struct worker *, struct conn *);
void	 conn_after_input(struct worker *, struct conn *, int);
void	 conn_eof(struct worker *, struct conn *);

/* ---- conntimer.c ---- */

#define BUF_KEEP_MS	1000	/* an emptied large buffer is kept so long */

uint64_t conntimer_ms(struct worker *, int);
void	 conntimer_del(struct worker *, struct conn *, int);
void	 conntimer_touch(struct worker *, struct conn *, int);
int	 conntimer_next(struct worker *);

/* ---- connring.c ---- */

void	 connring_echo(struct worker *, struct conn *);
void	 connring_commands(struct worker *, struct conn *);
ssize_t	 connring_read(struct worker *, struct conn *, size_t, int *);
void	 connring_widen(struct worker *, struct conn *);

/* ---- connproxy.c ---- */

void	 connproxy_readable(struct worker *, struct conn *);

/* ---- connbuf.c ---- */

#define CONNBUF_BLOCK	16384	/* the pooled size: most leftovers fit */
#define CONNBUF_MIN_READ (CONNBUF_BLOCK / 2)

size_t	 connbuf_share(const struct worker *);
size_t	 connbuf_free(const struct worker *);
uint8_t	*connbuf_alloc(struct worker *, size_t, size_t *);
void	 connbuf_release(struct worker *, struct buf *);
int	 connbuf_reserve(struct worker *, struct buf *, size_t, size_t);
void	 connbuf_release_pool(struct worker *);
size_t	 connbuf_ring_first(const struct buf *);
void	 connbuf_ring_consume(struct buf *, size_t);
int	 connbuf_ring_space(const struct buf *, struct iovec *, size_t);
void	 connbuf_ring_copy(const struct buf *, uint8_t *);
void	 connbuf_ring_peek(const struct buf *, uint8_t *, size_t);
int	 connbuf_linearize(struct worker *, struct buf *);
size_t	 connbuf_frame_end(const struct framer *, const uint8_t *, size_t);
size_t	 connbuf_in_limit(const struct framer *, const uint8_t *,
	    size_t);
size_t	 connbuf_read_room(const struct worker *, const struct buf *,
	    const struct buf *);

/* ---- metrics.c ---- */

int	 metrics_handle(struct worker *, struct conn *, const uint8_t *,
	    size_t);
void	 metrics_too_large(struct worker *, struct conn *);
void	 metrics_observe(struct worker *, int, uint64_t);
/* ---- agent.c ---- */

size_t	 agent_line(char *, size_t, long);
void	 agent_answer(struct worker *, int);

/* ---- service.c ---- */

int	 service_handle(struct worker *, struct conn *, const uint8_t *,
	    size_t, struct iovec *);
void	 service_too_large(struct worker *, struct conn *);
int	 service_echo_split(struct worker *, struct conn *, const uint8_t *,
	    size_t);

#endif
