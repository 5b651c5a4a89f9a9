// SPDX-License-Identifier: GPL-2.0
/*
 * Restore sessions: lazyboot.ko holds each restored task's userfaultfd.
 *
 * When the last holder of a uffd goes away, the kernel releases it and every
 * page not copied yet reads as zeros.  A session keeps a reference to the
 * uffd file and to the task's pid, so a crashing pager cannot release it:
 *
 * - SESSION_NEW {pid, uffd, deadline}: the requesting socket owns it.
 *   The caller needs CAP_SYS_ADMIN and the right to ptrace the task.
 * - When the owner's netlink socket goes away (NETLINK_URELEASE notifier),
 *   the session is orphaned and its deadline starts.  SESSION_ATTACH makes
 *   a new socket the owner and gives it a new fd for the same uffd.
 * - If nobody attaches before the deadline, the task group is sent SIGKILL
 *   (never resumed on zero pages).  The module still keeps the uffd until
 *   the task's mm is gone, so no thread can run on between the kill and its
 *   exit with a released uffd.
 * - A session ends on SESSION_CLOSE or when its mm goes away (mmu_notifier
 *   release).
 *
 * Who may do what (docs/security.md): every session request needs
 * CAP_SYS_ADMIN in the initial user namespace; a session is seen, attached
 * and closed only from the network namespace that created it; an attached
 * session only by its owner, an orphaned one by whoever passes the checks
 * of SESSION_NEW on its task.
 *
 * Every live session pins the module (try_module_get): removing it would
 * release the uffds, so rmmod fails with EWOULDBLOCK until they are closed.
 * The pin is dropped when the session ends, before its CLOSED event, so
 * rmmod works as soon as that event is seen; what is left of the session
 * (last references, held by our works) goes before the module does, since
 * module exit drains the workqueue.
 *
 * Fault stalls: a kretprobe on handle_userfault() (not exported, but
 * probe-able) times every call made for a session's mm, from entry to
 * return: how long the faulting thread was blocked waiting for its page.
 * Without kretprobes the sessions work, with no statistics.
 *
 * Locking: lazyboot_sessions_lock guards the idr and every session's state.
 * The mmu notifier's release callback takes no lock: it only queues work.
 * The probe finds sessions on an RCU list and updates their statistics
 * under a spinlock; sessions are freed after a grace period.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/kref.h>
#include <linux/log2.h>
#include <linux/magic.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "lazyboot.h"

#define LAZYBOOT_DEFAULT_DEADLINE_MS	30000

struct lazyboot_session {
	struct kref ref;	/* idr entry, queued works, in-flight users */
	u32 id;
	enum lazyboot_session_state state;
	u32 deadline_ms;
	unsigned long orphaned_at;	/* jiffies */
	u32 owner;			/* netlink port id, 0: none */
	struct net *owner_net;		/* compared, never dereferenced */
	struct net *net;		/* creator's netns: events go there */
	struct pid *pid;		/* thread group id */
	struct file *uffd;
	struct mm_struct *mm;		/* pinned by the mmu notifier */
	struct mmu_notifier mn;
	struct delayed_work deadline_work;
	struct work_struct exit_work;
	struct list_head live;		/* on lazyboot_live, for the probe */
	struct rcu_head rcu;
	spinlock_t stall_lock;		/* guards the stall_* fields */
	u64 stall_count;
	u64 stall_total_ns;
	u64 stall_max_ns;
	u64 stall_hist[LAZYBOOT_STALL_HIST_BUCKETS];
	u64 milestone_times[LAZYBOOT_MILESTONE_COUNT];	/* boottime ns */
};

static DEFINE_MUTEX(lazyboot_sessions_lock);
static DEFINE_IDR(lazyboot_sessions);
static LIST_HEAD(lazyboot_live);	/* RCU; written under the lock */
static struct workqueue_struct *lazyboot_wq;
static bool lazyboot_stall_probe_on;
static struct dentry *lazyboot_debugfs;
/* Milestones sent without a session id: the boot's; under the lock. */
static u64 lazyboot_boot_milestones[LAZYBOOT_MILESTONE_COUNT];

/*
 * A uffd is an anonymous inode file named "[userfaultfd]" (the kernel's
 * userfaultfd_fops are static, so they cannot be compared): check the
 * filesystem magic too, so that an ordinary file of that name is refused.
 * Names on anon_inodefs are chosen by kernel code only.
 */
static bool lazyboot_file_is_uffd(struct file *file)
{
	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "[userfaultfd]");
}

/*
 * Session requests are root's: CAP_SYS_ADMIN in the initial user namespace,
 * held both by the socket's opener and by the sender (netlink_capable()).
 * CAP_NET_ADMIN, which genetlink checks first, is no longer enough.
 */
static int lazyboot_check_admin(struct sk_buff *skb,
				struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	NL_SET_ERR_MSG(extack, "session requests need CAP_SYS_ADMIN");
	return -EPERM;
}

/*
 * May the caller (current: netlink requests run in the sender's context)
 * ptrace-attach to @task, as ptrace_may_access(task,
 * PTRACE_MODE_ATTACH_REALCREDS) would allow?  That function is not exported
 * to modules (5.10 to 6.12), nor is the LSM hook it ends with, so this
 * repeats its credential and dumpability checks; Yama, SELinux and AppArmor
 * are not consulted (docs/security.md).
 */
static bool lazyboot_may_ptrace(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	struct mm_struct *mm;
	bool ok;

	if (same_thread_group(task, current))
		return true;
	rcu_read_lock();
	tcred = __task_cred(task);
	ok = (uid_eq(cred->uid, tcred->euid) &&
	      uid_eq(cred->uid, tcred->suid) &&
	      uid_eq(cred->uid, tcred->uid) &&
	      gid_eq(cred->gid, tcred->egid) &&
	      gid_eq(cred->gid, tcred->sgid) &&
	      gid_eq(cred->gid, tcred->gid)) ||
	     ns_capable(tcred->user_ns, CAP_SYS_PTRACE);
	rcu_read_unlock();
	if (!ok)
		return false;
	/* Dumpability after the credentials: pairs with commit_creds(). */
	smp_rmb();
	task_lock(task);
	mm = task->mm;
	ok = mm && (get_dumpable(mm) == SUID_DUMP_USER ||
		    ns_capable(mm->user_ns, CAP_SYS_PTRACE));
	task_unlock(task);
	return ok;
}

/* The ptrace check of SESSION_NEW, on the thread group of @pid. */
static int lazyboot_check_ptrace(struct pid *pid,
				 struct netlink_ext_ack *extack)
{
	struct task_struct *task = get_pid_task(pid, PIDTYPE_TGID);
	bool ok;

	if (!task) {
		NL_SET_ERR_MSG(extack, "pid is not a thread group id");
		return -ESRCH;
	}
	ok = lazyboot_may_ptrace(task);
	put_task_struct(task);
	if (ok)
		return 0;
	NL_SET_ERR_MSG(extack, "the caller may not ptrace the task");
	return -EPERM;
}

/*
 * Events go to every listener of the session's netns.  They carry the pid
 * only where the group needs CAP_SYS_ADMIN (GENL_MCAST_CAP_SYS_ADMIN, which
 * genetlink checks against the netns's user namespace: the initial one, so
 * that a container's root does not qualify).  Elsewhere anyone may join.
 */
bool lazyboot_events_carry_pids(void)
{
#ifdef LAZYBOOT_HAVE_GENL_MCAST_CAP
	return true;
#else
	return false;
#endif
}

static bool lazyboot_event_pid_ok(struct net *net)
{
	return lazyboot_events_carry_pids() && net->user_ns == &init_user_ns;
}

static void lazyboot_session_free(struct kref *ref)
{
	struct lazyboot_session *s =
		container_of(ref, struct lazyboot_session, ref);

	fput(s->uffd);
	put_pid(s->pid);
	put_net(s->net);
	kfree_rcu(s, rcu);	/* the stall probe may still be looking */
}

static void lazyboot_session_put(struct lazyboot_session *s)
{
	kref_put(&s->ref, lazyboot_session_free);
}

static u32 lazyboot_session_remaining_ms(struct lazyboot_session *s)
{
	unsigned long end = s->orphaned_at + msecs_to_jiffies(s->deadline_ms);

	if (time_after_eq(jiffies, end))
		return 0;
	return jiffies_to_msecs(end - jiffies);
}

static int lazyboot_session_fill_stalls(struct sk_buff *skb,
					struct lazyboot_session *s)
{
	u64 hist[LAZYBOOT_STALL_HIST_BUCKETS];
	u64 count, total, max;
	unsigned long flags;

	spin_lock_irqsave(&s->stall_lock, flags);
	count = s->stall_count;
	total = s->stall_total_ns;
	max = s->stall_max_ns;
	memcpy(hist, s->stall_hist, sizeof(hist));
	spin_unlock_irqrestore(&s->stall_lock, flags);

	if (nla_put_u64_64bit(skb, LAZYBOOT_A_SESSION_STALL_COUNT, count,
			      LAZYBOOT_A_SESSION_PAD) ||
	    nla_put_u64_64bit(skb, LAZYBOOT_A_SESSION_STALL_TOTAL_NS, total,
			      LAZYBOOT_A_SESSION_PAD) ||
	    nla_put_u64_64bit(skb, LAZYBOOT_A_SESSION_STALL_MAX_NS, max,
			      LAZYBOOT_A_SESSION_PAD) ||
	    nla_put(skb, LAZYBOOT_A_SESSION_STALL_HIST, sizeof(hist), hist))
		return -EMSGSIZE;
	return 0;
}

static int lazyboot_session_fill(struct sk_buff *skb,
				 struct lazyboot_session *s)
{
	if (nla_put_u32(skb, LAZYBOOT_A_SESSION_ID, s->id) ||
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_PID, pid_vnr(s->pid)) ||
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_DEADLINE_MS, s->deadline_ms) ||
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_STATE, s->state) ||
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_OWNER, s->owner))
		return -EMSGSIZE;
	if (s->state == LAZYBOOT_SESSION_STATE_ORPHANED &&
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_REMAINING_MS,
			lazyboot_session_remaining_ms(s)))
		return -EMSGSIZE;
	if (nla_put(skb, LAZYBOOT_A_SESSION_MILESTONE_TIMES,
		    sizeof(s->milestone_times), s->milestone_times))
		return -EMSGSIZE;
	if (lazyboot_stall_probe_on)
		return lazyboot_session_fill_stalls(skb, s);
	return 0;
}

/*
 * Multicast an event to the creator's netns.  Pids in events are in the
 * initial pid namespace (there is no requester to translate them for), and
 * only there where listeners need CAP_SYS_ADMIN.
 */
static void lazyboot_session_event(struct lazyboot_session *s, u8 cmd,
				   u32 end)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &lazyboot_genl_family, 0, cmd);
	if (!hdr)
		goto err;
	if (nla_put_u32(skb, LAZYBOOT_A_SESSION_ID, s->id))
		goto err;
	if (lazyboot_event_pid_ok(s->net) &&
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_PID, pid_nr(s->pid)))
		goto err;
	if (cmd == LAZYBOOT_CMD_SESSION_ORPHANED &&
	    nla_put_u32(skb, LAZYBOOT_A_SESSION_DEADLINE_MS, s->deadline_ms))
		goto err;
	if (end && nla_put_u32(skb, LAZYBOOT_A_SESSION_END, end))
		goto err;
	genlmsg_end(skb, hdr);
	/* -ESRCH just means nobody listens. */
	genlmsg_multicast_netns(&lazyboot_genl_family, s->net, skb, 0,
				LAZYBOOT_MCGRP_EVENTS_IDX, GFP_KERNEL);
	return;
err:
	nlmsg_free(skb);
}

/* Queue @dwork after @delay, holding a session reference while queued. */
static void lazyboot_session_queue_deadline(struct lazyboot_session *s,
					    unsigned long delay)
{
	kref_get(&s->ref);
	if (!queue_delayed_work(lazyboot_wq, &s->deadline_work, delay))
		lazyboot_session_put(s);	/* already queued: not the last */
}

/*
 * Called with the lock held, in process context (never from the mmu
 * notifier): unhooks the session from everything that could queue work
 * for it, unpins the module, and drops the idr's reference.
 */
static void lazyboot_session_end(struct lazyboot_session *s, u32 end)
{
	lockdep_assert_held(&lazyboot_sessions_lock);
	if (s->state == LAZYBOOT_SESSION_STATE_CLOSED)
		return;
	WRITE_ONCE(s->state, LAZYBOOT_SESSION_STATE_CLOSED);
	s->owner = 0;
	idr_remove(&lazyboot_sessions, s->id);
	list_del_rcu(&s->live);
	if (cancel_delayed_work(&s->deadline_work))
		lazyboot_session_put(s);
	/* Calls our release callback if the mm lives; it sees CLOSED. */
	mmu_notifier_unregister(&s->mn, s->mm);
	lazyboot_session_event(s, LAZYBOOT_CMD_SESSION_CLOSED, end);
	module_put(THIS_MODULE);
	lazyboot_session_put(s);
}

static void lazyboot_session_exit_work(struct work_struct *work)
{
	struct lazyboot_session *s =
		container_of(work, struct lazyboot_session, exit_work);

	mutex_lock(&lazyboot_sessions_lock);
	lazyboot_session_end(s, LAZYBOOT_SESSION_END_EXIT);
	mutex_unlock(&lazyboot_sessions_lock);
	lazyboot_session_put(s);
}

static void lazyboot_session_deadline_work(struct work_struct *work)
{
	struct lazyboot_session *s =
		container_of(to_delayed_work(work), struct lazyboot_session,
			     deadline_work);
	u32 left;

	mutex_lock(&lazyboot_sessions_lock);
	if (s->state != LAZYBOOT_SESSION_STATE_ORPHANED)
		goto out;
	/* Orphaned again after an attach that raced with this work? */
	left = lazyboot_session_remaining_ms(s);
	if (left) {
		lazyboot_session_queue_deadline(s, msecs_to_jiffies(left));
		goto out;
	}
	s->state = LAZYBOOT_SESSION_STATE_KILLED;
	pr_warn("session %u: no pager attached within %u ms, killing task group %d\n",
		s->id, s->deadline_ms, pid_nr(s->pid));
	kill_pid(s->pid, SIGKILL, 1);
	lazyboot_session_event(s, LAZYBOOT_CMD_SESSION_KILLED, 0);
out:
	mutex_unlock(&lazyboot_sessions_lock);
	lazyboot_session_put(s);
}

/*
 * The task's mm is going away.  Called from exit_mmap() (or from
 * mmu_notifier_unregister() in lazyboot_session_end(), with the session
 * already CLOSED): take no lock, leave the work to the workqueue.
 */
static void lazyboot_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct lazyboot_session *s =
		container_of(mn, struct lazyboot_session, mn);

	if (READ_ONCE(s->state) == LAZYBOOT_SESSION_STATE_CLOSED ||
	    !kref_get_unless_zero(&s->ref))
		return;
	if (!queue_work(lazyboot_wq, &s->exit_work))
		lazyboot_session_put(s);	/* queued work holds one */
}

static const struct mmu_notifier_ops lazyboot_mn_ops = {
	.release = lazyboot_mn_release,
};

static int lazyboot_netlink_notify(struct notifier_block *nb,
				   unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;
	struct lazyboot_session *s;
	int id;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !n->portid)
		return NOTIFY_DONE;

	mutex_lock(&lazyboot_sessions_lock);
	idr_for_each_entry(&lazyboot_sessions, s, id) {
		if (s->state != LAZYBOOT_SESSION_STATE_ATTACHED ||
		    s->owner != n->portid || !net_eq(s->owner_net, n->net))
			continue;
		s->state = LAZYBOOT_SESSION_STATE_ORPHANED;
		s->owner = 0;
		s->orphaned_at = jiffies;
		pr_info("session %u: pager went away, %u ms to reattach\n",
			s->id, s->deadline_ms);
		lazyboot_session_queue_deadline(s,
						msecs_to_jiffies(s->deadline_ms));
		lazyboot_session_event(s, LAZYBOOT_CMD_SESSION_ORPHANED, 0);
	}
	mutex_unlock(&lazyboot_sessions_lock);
	return NOTIFY_DONE;
}

static struct notifier_block lazyboot_netlink_nb = {
	.notifier_call = lazyboot_netlink_notify,
};

static int lazyboot_session_reply(struct genl_info *info,
				  struct lazyboot_session *s)
{
	struct sk_buff *reply;
	void *hdr;

	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &lazyboot_genl_family, 0,
				info->genlhdr->cmd);
	if (!hdr || lazyboot_session_fill(reply, s)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

int lazyboot_session_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct lazyboot_session *s, *other;
	struct task_struct *task;
	struct mm_struct *mm;
	int ret, id;

	ret = lazyboot_check_admin(skb, info->extack);
	if (ret)
		return ret;
	if (!attrs[LAZYBOOT_A_SESSION_PID] || !attrs[LAZYBOOT_A_SESSION_UFFD]) {
		NL_SET_ERR_MSG(info->extack, "pid and uffd are required");
		return -EINVAL;
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kref_init(&s->ref);
	INIT_DELAYED_WORK(&s->deadline_work, lazyboot_session_deadline_work);
	INIT_WORK(&s->exit_work, lazyboot_session_exit_work);
	spin_lock_init(&s->stall_lock);
	s->mn.ops = &lazyboot_mn_ops;
	s->deadline_ms = LAZYBOOT_DEFAULT_DEADLINE_MS;
	if (attrs[LAZYBOOT_A_SESSION_DEADLINE_MS])
		s->deadline_ms =
			nla_get_u32(attrs[LAZYBOOT_A_SESSION_DEADLINE_MS]);

	/*
	 * The uffd must be in the caller's own fd table.  Which mm it serves
	 * cannot be told (docs/netlink.md): struct userfaultfd_ctx is private
	 * to fs/userfaultfd.c, and CRIU hands the uffd over before it
	 * registers any range that would link it to a vma of the task.
	 */
	ret = -EBADF;
	s->uffd = fget(nla_get_u32(attrs[LAZYBOOT_A_SESSION_UFFD]));
	if (!s->uffd)
		goto err_free;
	ret = -EINVAL;
	if (!lazyboot_file_is_uffd(s->uffd)) {
		NL_SET_ERR_MSG(info->extack, "uffd is not a userfaultfd");
		goto err_fput;
	}

	ret = -ESRCH;
	s->pid = find_get_pid(nla_get_u32(attrs[LAZYBOOT_A_SESSION_PID]));
	if (!s->pid)
		goto err_fput;
	ret = lazyboot_check_ptrace(s->pid, info->extack);
	if (ret)
		goto err_put_pid;
	ret = -ESRCH;
	task = get_pid_task(s->pid, PIDTYPE_TGID);
	if (!task) {
		NL_SET_ERR_MSG(info->extack, "pid is not a thread group id");
		goto err_put_pid;
	}
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		goto err_put_pid;

	ret = -ENODEV;
	if (!try_module_get(THIS_MODULE))
		goto err_mmput;

	mutex_lock(&lazyboot_sessions_lock);
	ret = -EEXIST;
	idr_for_each_entry(&lazyboot_sessions, other, id) {
		if (other->mm == mm) {
			NL_SET_ERR_MSG(info->extack,
				       "the task already has a session");
			goto err_unlock;
		}
		/* One task per uffd: a uffd serves one mm. */
		if (other->uffd == s->uffd) {
			NL_SET_ERR_MSG(info->extack,
				       "the uffd already has a session");
			goto err_unlock;
		}
	}
	ret = idr_alloc_cyclic(&lazyboot_sessions, s, 1, 0, GFP_KERNEL);
	if (ret < 0)
		goto err_unlock;
	s->id = ret;
	ret = mmu_notifier_register(&s->mn, mm);
	if (ret) {
		idr_remove(&lazyboot_sessions, s->id);
		goto err_unlock;
	}
	s->mm = mm;
	s->state = LAZYBOOT_SESSION_STATE_ATTACHED;
	s->owner = info->snd_portid;
	s->net = get_net(genl_info_net(info));
	s->owner_net = s->net;
	list_add_tail_rcu(&s->live, &lazyboot_live);

	ret = lazyboot_session_reply(info, s);
	if (ret) {
		/* Nobody learnt the id: undo. */
		lazyboot_session_end(s, LAZYBOOT_SESSION_END_CLOSE);
	}
	mutex_unlock(&lazyboot_sessions_lock);
	/* The last mmput runs exit_mmap(), hence our release: no lock held. */
	mmput(mm);
	return ret;

err_unlock:
	mutex_unlock(&lazyboot_sessions_lock);
	module_put(THIS_MODULE);
err_mmput:
	mmput(mm);
err_put_pid:
	put_pid(s->pid);
err_fput:
	fput(s->uffd);
err_free:
	kfree(s);
	return ret;
}

static struct lazyboot_session *lazyboot_session_find(struct genl_info *info)
{
	struct lazyboot_session *s;

	if (!info->attrs[LAZYBOOT_A_SESSION_ID]) {
		NL_SET_ERR_MSG(info->extack, "id is required");
		return ERR_PTR(-EINVAL);
	}
	s = idr_find(&lazyboot_sessions,
		     nla_get_u32(info->attrs[LAZYBOOT_A_SESSION_ID]));
	/* Other network namespaces' sessions do not exist for the caller. */
	if (!s || !net_eq(s->net, genl_info_net(info)))
		return ERR_PTR(-ENOENT);
	return s;
}

/*
 * Attach and close: an attached session only by its owner; one that has
 * none (orphaned or killed) by a caller that passes the checks of
 * SESSION_NEW on its task (CAP_SYS_ADMIN is checked already).
 */
static int lazyboot_session_may_take(struct lazyboot_session *s,
				     struct genl_info *info)
{
	if (s->state == LAZYBOOT_SESSION_STATE_ATTACHED) {
		if (s->owner == info->snd_portid &&
		    net_eq(s->owner_net, genl_info_net(info)))
			return 0;
		NL_SET_ERR_MSG(info->extack, "another pager owns the session");
		return -EBUSY;
	}
	return lazyboot_check_ptrace(s->pid, info->extack);
}

int lazyboot_session_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct lazyboot_session *s;
	int ret;

	ret = lazyboot_check_admin(skb, info->extack);
	if (ret)
		return ret;
	mutex_lock(&lazyboot_sessions_lock);
	s = lazyboot_session_find(info);
	ret = IS_ERR(s) ? PTR_ERR(s) : lazyboot_session_reply(info, s);
	mutex_unlock(&lazyboot_sessions_lock);
	return ret;
}

/* Checked once, in the requester's context, before the first part. */
int lazyboot_session_dump_start(struct netlink_callback *cb)
{
	return lazyboot_check_admin(cb->skb, cb->extack);
}

int lazyboot_session_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct lazyboot_session *s;
	int id = cb->args[0];
	void *hdr;

	mutex_lock(&lazyboot_sessions_lock);
	for (; (s = idr_get_next(&lazyboot_sessions, &id)); id++) {
		if (!net_eq(s->net, net))
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &lazyboot_genl_family,
				  NLM_F_MULTI, LAZYBOOT_CMD_SESSION_GET);
		if (!hdr)
			break;
		if (lazyboot_session_fill(skb, s)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&lazyboot_sessions_lock);
	cb->args[0] = id;
	return skb->len;
}

int lazyboot_session_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct lazyboot_session *s;
	struct sk_buff *reply;
	void *hdr;
	int ret, fd;

	ret = lazyboot_check_admin(skb, info->extack);
	if (ret)
		return ret;
	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	mutex_lock(&lazyboot_sessions_lock);
	s = lazyboot_session_find(info);
	ret = PTR_ERR_OR_ZERO(s);
	if (ret)
		goto err_unlock;
	ret = -EBUSY;
	if (s->state == LAZYBOOT_SESSION_STATE_KILLED) {
		NL_SET_ERR_MSG(info->extack, "the session was killed");
		goto err_unlock;
	}
	ret = lazyboot_session_may_take(s, info);
	if (ret)
		goto err_unlock;

	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(reply, info, &lazyboot_genl_family, 0,
				LAZYBOOT_CMD_SESSION_ATTACH);
	if (!hdr)
		goto err_unlock;
	/* Current is the requester: netlink requests run in its context. */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_unlock;
	}
	if (nla_put_u32(reply, LAZYBOOT_A_SESSION_ID, s->id) ||
	    nla_put_u32(reply, LAZYBOOT_A_SESSION_UFFD, fd)) {
		put_unused_fd(fd);
		goto err_unlock;
	}
	genlmsg_end(reply, hdr);

	/* Nothing can fail from here on. */
	if (s->state == LAZYBOOT_SESSION_STATE_ORPHANED &&
	    cancel_delayed_work(&s->deadline_work))
		lazyboot_session_put(s);	/* the idr still holds one */
	s->state = LAZYBOOT_SESSION_STATE_ATTACHED;
	s->owner = info->snd_portid;
	s->owner_net = net;
	fd_install(fd, get_file(s->uffd));
	mutex_unlock(&lazyboot_sessions_lock);
	return genlmsg_reply(reply, info);

err_unlock:
	mutex_unlock(&lazyboot_sessions_lock);
	nlmsg_free(reply);
	return ret;
}

int lazyboot_session_close_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct lazyboot_session *s;
	int ret;

	ret = lazyboot_check_admin(skb, info->extack);
	if (ret)
		return ret;
	mutex_lock(&lazyboot_sessions_lock);
	s = lazyboot_session_find(info);
	ret = PTR_ERR_OR_ZERO(s);
	if (!ret)
		ret = lazyboot_session_may_take(s, info);
	if (!ret)
		lazyboot_session_end(s, LAZYBOOT_SESSION_END_CLOSE);
	mutex_unlock(&lazyboot_sessions_lock);
	return ret;
}

/* The session of @mm, under rcu_read_lock(). */
static struct lazyboot_session *lazyboot_session_by_mm(struct mm_struct *mm)
{
	struct lazyboot_session *s;

	list_for_each_entry_rcu(s, &lazyboot_live, live)
		if (s->mm == mm)
			return s;
	return NULL;
}

struct lazyboot_stall {
	struct mm_struct *mm;
	u64 start_ns;
};

/* handle_userfault(struct vm_fault *vmf, unsigned long reason) */
static int lazyboot_stall_entry(struct kretprobe_instance *ri,
				struct pt_regs *regs)
{
	struct vm_fault *vmf =
		(struct vm_fault *)regs_get_kernel_argument(regs, 0);
	struct lazyboot_stall *st = (struct lazyboot_stall *)ri->data;
	bool ours;

	st->mm = vmf->vma->vm_mm;
	rcu_read_lock();
	ours = lazyboot_session_by_mm(st->mm);
	rcu_read_unlock();
	if (!ours)
		return 1;	/* no return handler for other mms */
	st->start_ns = ktime_get_ns();
	return 0;
}

static int lazyboot_stall_return(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct lazyboot_stall *st = (struct lazyboot_stall *)ri->data;
	u64 ns = ktime_get_ns() - st->start_ns;
	u64 us = div_u64(ns, NSEC_PER_USEC);
	struct lazyboot_session *s;
	unsigned long flags;
	unsigned int bucket;

	bucket = us < 2 ? 0 : min_t(unsigned int, ilog2(us),
				    LAZYBOOT_STALL_HIST_BUCKETS - 1);
	rcu_read_lock();
	s = lazyboot_session_by_mm(st->mm);
	if (s) {
		spin_lock_irqsave(&s->stall_lock, flags);
		s->stall_count++;
		s->stall_total_ns += ns;
		s->stall_max_ns = max(s->stall_max_ns, ns);
		s->stall_hist[bucket]++;
		spin_unlock_irqrestore(&s->stall_lock, flags);
	}
	rcu_read_unlock();
	return 0;
}

static struct kretprobe lazyboot_stall_probe = {
	.kp.symbol_name = "handle_userfault",
	.entry_handler = lazyboot_stall_entry,
	.handler = lazyboot_stall_return,
	.data_size = sizeof(struct lazyboot_stall),
	/* Threads blocked at once; more are counted in nmissed. */
	.maxactive = 512,
};

bool lazyboot_stall_stats_enabled(void)
{
	return lazyboot_stall_probe_on;
}

static int lazyboot_sessions_show(struct seq_file *m, void *v)
{
	struct lazyboot_session *s;
	int id;

	seq_puts(m, "id pid state owner deadline_ms stalls stall_total_ns stall_max_ns\n");
	mutex_lock(&lazyboot_sessions_lock);
	idr_for_each_entry(&lazyboot_sessions, s, id) {
		unsigned long flags;
		u64 count, total, max;

		spin_lock_irqsave(&s->stall_lock, flags);
		count = s->stall_count;
		total = s->stall_total_ns;
		max = s->stall_max_ns;
		spin_unlock_irqrestore(&s->stall_lock, flags);
		seq_printf(m, "%u %d %u %u %u %llu %llu %llu\n", s->id,
			   pid_nr(s->pid), s->state, s->owner, s->deadline_ms,
			   count, total, max);
	}
	seq_puts(m, "# boot milestones (boottime ns):");
	for (id = 0; id < LAZYBOOT_MILESTONE_COUNT; id++)
		seq_printf(m, " %llu", lazyboot_boot_milestones[id]);
	seq_putc(m, '\n');
	mutex_unlock(&lazyboot_sessions_lock);
	if (lazyboot_stall_probe_on)
		seq_printf(m, "# stall probe: on, missed %d\n",
			   lazyboot_stall_probe.nmissed);
	else
		seq_puts(m, "# stall probe: off\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lazyboot_sessions);

/*
 * A milestone is stamped here, in the kernel, so that reports from the
 * pager, the CRIU plugin and others share one clock (CLOCK_BOOTTIME) and
 * none can be back-dated.  The first report of each milestone is kept.
 */
int lazyboot_milestone_doit(struct sk_buff *skb, struct genl_info *info)
{
	u64 now = ktime_get_boottime_ns();
	struct nlattr **attrs = info->attrs;
	struct lazyboot_session *s = NULL;
	struct sk_buff *reply, *event;
	void *hdr, *ehdr;
	u32 kind;
	u64 *times;
	int ret;

	ret = lazyboot_check_admin(skb, info->extack);
	if (ret)
		return ret;
	if (!attrs[LAZYBOOT_A_SESSION_MILESTONE]) {
		NL_SET_ERR_MSG(info->extack, "milestone is required");
		return -EINVAL;
	}
	kind = nla_get_u32(attrs[LAZYBOOT_A_SESSION_MILESTONE]);

	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	event = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	ret = -ENOMEM;
	if (!reply || !event)
		goto err_free;
	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(reply, info, &lazyboot_genl_family, 0,
				LAZYBOOT_CMD_MILESTONE);
	ehdr = genlmsg_put(event, 0, 0, &lazyboot_genl_family, 0,
			   LAZYBOOT_CMD_MILESTONE);
	if (!hdr || !ehdr ||
	    nla_put_u64_64bit(reply, LAZYBOOT_A_SESSION_KERNEL_TS_NS, now,
			      LAZYBOOT_A_SESSION_PAD) ||
	    nla_put_u32(event, LAZYBOOT_A_SESSION_MILESTONE, kind) ||
	    nla_put_u64_64bit(event, LAZYBOOT_A_SESSION_KERNEL_TS_NS, now,
			      LAZYBOOT_A_SESSION_PAD))
		goto err_free;
	if (attrs[LAZYBOOT_A_SESSION_USER_TS_NS] &&
	    nla_put_u64_64bit(event, LAZYBOOT_A_SESSION_USER_TS_NS,
			      nla_get_u64(attrs[LAZYBOOT_A_SESSION_USER_TS_NS]),
			      LAZYBOOT_A_SESSION_PAD))
		goto err_free;
	genlmsg_end(reply, hdr);

	mutex_lock(&lazyboot_sessions_lock);
	times = lazyboot_boot_milestones;
	if (attrs[LAZYBOOT_A_SESSION_ID]) {
		s = lazyboot_session_find(info);
		if (IS_ERR(s)) {
			mutex_unlock(&lazyboot_sessions_lock);
			ret = PTR_ERR(s);
			goto err_free;
		}
		times = s->milestone_times;
		if (nla_put_u32(event, LAZYBOOT_A_SESSION_ID, s->id)) {
			mutex_unlock(&lazyboot_sessions_lock);
			goto err_free;
		}
	}
	if (!times[kind])
		times[kind] = now;
	mutex_unlock(&lazyboot_sessions_lock);

	genlmsg_end(event, ehdr);
	genlmsg_multicast_netns(&lazyboot_genl_family, genl_info_net(info),
				event, 0, LAZYBOOT_MCGRP_EVENTS_IDX,
				GFP_KERNEL);
	return genlmsg_reply(reply, info);

err_free:
	nlmsg_free(event);
	nlmsg_free(reply);
	return ret;
}

int __init lazyboot_session_init(void)
{
	int ret;

	lazyboot_wq = alloc_workqueue("lazyboot", 0, 0);
	if (!lazyboot_wq)
		return -ENOMEM;
	ret = netlink_register_notifier(&lazyboot_netlink_nb);
	if (ret) {
		destroy_workqueue(lazyboot_wq);
		return ret;
	}
	ret = register_kretprobe(&lazyboot_stall_probe);
	if (ret)
		pr_warn("no kretprobe on handle_userfault (%d): no stall statistics\n",
			ret);
	lazyboot_stall_probe_on = !ret;
	/* debugfs is optional: its errors are not ours to handle. */
	lazyboot_debugfs = debugfs_create_dir("lazyboot", NULL);
	debugfs_create_file("sessions", 0400, lazyboot_debugfs, NULL,
			    &lazyboot_sessions_fops);
	return 0;
}

/*
 * Only reached once every session has ended (each pins the module until
 * then), but works holding their last references may still be running:
 * destroying the workqueue waits for them.  Nothing queues new ones: ended
 * sessions have no mmu notifier, no deadline to re-arm, no owner.
 */
void lazyboot_session_exit(void)
{
	debugfs_remove_recursive(lazyboot_debugfs);
	if (lazyboot_stall_probe_on)
		unregister_kretprobe(&lazyboot_stall_probe);
	netlink_unregister_notifier(&lazyboot_netlink_nb);
	destroy_workqueue(lazyboot_wq);
	WARN_ON(!idr_is_empty(&lazyboot_sessions));
	idr_destroy(&lazyboot_sessions);
}
