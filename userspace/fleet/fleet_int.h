/* Inside the fleet module: the state shared by fleet.c (the request path,
 * the kernel rows, the view), fleet_sync.c (the thread) and fleet_state.c
 * (this host's spends on disk). Not for other modules. */
#ifndef AIGW_FLEET_INT_H
#define AIGW_FLEET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fleet.h"
#include "fleet_redis.h"

/* Name -> entry index, open addressing (a power of two, > 2 x policies). */
#define FLEET_HASH_SLOTS 1024
/* The next window is leased this many syncs before it starts (at most a
 * quarter of the window), so a new minute starts with a lease in hand. */
#define FLEET_LOOKAHEAD_SYNCS 3
#define FLEET_MAX_ITEMS (FLEET_MAX_POLICIES * FLEET_N_KINDS * 2)
#define FLEET_MAX_RESTORED 1024

/* One window of one counter. The atomics are shared with the request path;
 * the rest belongs to the fleet thread (read by others under f->mu). */
struct fleet_slot {
	_Atomic uint64_t window;    /* start (unix s) of the window it counts; 0 = free */
	_Atomic uint64_t spent;     /* this host's cumulative spend in it */
	_Atomic uint64_t allowed;   /* spent may reach this */
	_Atomic uint64_t unleased;  /* what the fleet had left beyond the leases, last sync */
	_Atomic uint32_t starved;   /* refusals for want of lease since the last sync */
	_Atomic uint32_t exhausted; /* 1: the fleet's limit is spent, not only our lease */
	uint64_t seconds;           /* the window's length */
	uint64_t spent_reported;    /* what Redis held for us after the last sync */
	uint64_t fleet_spent, others_leased, grant;
	uint32_t hosts;
	bool synced;                /* Redis answered for this window at least once */
	bool final_done;            /* reported once after the window ended */
	bool local_share;           /* allowed was raised to the local share */
};

struct fleet_ctr {
	struct fleet_slot slot[2];
	_Atomic uint64_t orphan; /* spend that found no slot for its window yet */
};

struct fleet_entry {
	char name[CFG_NAME_MAX + 1]; /* set before the index points here */
	/* under f->mu */
	bool active;                /* in the policy set in force */
	bool release;               /* left the set: report once more, lease 0 */
	struct pol_quota quota;     /* its quota, as last set */
	uint32_t hosts_seen;        /* hosts with a live lease at the last sync */
	struct fleet_ctr ctr[FLEET_N_KINDS];
};

/* A spend read back from state_dir/fleet.json, used once when its slot is
 * made again. */
struct fleet_restored {
	char policy[CFG_NAME_MAX + 1];
	char kind[16];
	uint64_t window, spent;
	bool used;
};

/* Bookkeeping of one request to Redis within a tick. */
struct fleet_item {
	int entry;
	enum fleet_kind kind;
	int slot;
	uint64_t window;     /* the slot's window when planned */
	uint64_t spent_sent;
	bool release; /* want 0: the window is over or the policy is gone */
};

struct fleet {
	const struct cfg_fleet *cfg;
	char password[CFG_FLEET_SECRET_MAX + 2];
	char *state_path;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_on, stop, wake;
	int event_fd;
	struct fredis redis;        /* the fleet thread's */
	/* status, under mu */
	bool redis_up;
	uint64_t syncs_ok, syncs_failed;
	uint64_t last_ok_ms;        /* CLOCK_MONOTONIC ms of the last good sync, 0 = never */
	char last_err[512];
	/* entries: appended, never removed, so the request path can hold one */
	struct fleet_entry *e;
	_Atomic int n_entries;
	_Atomic int16_t index[FLEET_HASH_SLOTS]; /* entry + 1, 0 = empty */
	struct fleet_restored restored[FLEET_MAX_RESTORED];
	int n_restored;
	uint64_t state_sum;         /* a digest of what fleet.json holds */
	/* the tick's scratch (fleet thread, or the caller of fleet_start/free) */
	struct fredis_sync *syncs;
	struct fleet_item *items;
};

/* fleet.c */
struct fleet_entry *fleet_entry_find(struct fleet *f, const char *name);
struct fleet_slot *fleet_slot_of(struct fleet_ctr *c, uint64_t window);

/* fleet_sync.c: one round of reports and leases (or the local share when
 * Redis is out of reach); release_all returns every lease. */
void fleet_tick(struct fleet *f, bool release_all);
int fleet_thread_start(struct fleet *f);
void fleet_thread_stop(struct fleet *f);

/* fleet_state.c */
/* Read state_dir/fleet.json (a missing or bad file is not an error). */
void fleet_state_load(struct fleet *f);
/* Write the slots' spends if they changed since the last write. */
void fleet_state_save(struct fleet *f);
/* The spend state_dir/fleet.json held for this counter and window (0). */
uint64_t fleet_state_take(struct fleet *f, const char *policy, const char *kind,
			  uint64_t window);
uint64_t fleet_mono_ms(void);

#endif
