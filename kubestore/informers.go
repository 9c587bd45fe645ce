package kubestore

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// rejectionsName is the ConfigMap holding the rejected MACs.
const rejectionsName = "rackboot-rejections"

// informers watch the objects the store answers from.
type informers struct {
	machines   cache.SharedIndexInformer
	profiles   cache.SharedIndexInformer
	rejections cache.SharedIndexInformer // the one ConfigMap
}

func newInformers(client rest.Interface, core kubernetes.Interface, ns string) informers {
	cm := cache.NewFilteredListWatchFromClient(core.CoreV1().RESTClient(), "configmaps", ns,
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rejectionsName).String()
		})
	return informers{
		machines: cache.NewSharedIndexInformer(
			cache.NewListWatchFromClient(client, "machines", ns, fields.Everything()),
			&v1alpha1.Machine{}, 0, cache.Indexers{}),
		profiles: cache.NewSharedIndexInformer(
			cache.NewListWatchFromClient(client, "profiles", ns, fields.Everything()),
			&v1alpha1.Profile{}, 0, cache.Indexers{}),
		rejections: cache.NewSharedIndexInformer(cm, &corev1.ConfigMap{}, 0, cache.Indexers{}),
	}
}

// addHandlers has s follow every change the informers see.
func (inf informers) addHandlers(s *Store) {
	kick := func(any) { s.change.kick() }
	inf.machines.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.machineSeen(o) },
		UpdateFunc: func(_, o any) { s.machineSeen(o) },
		DeleteFunc: s.machineGone,
	})
	for _, i := range []cache.SharedIndexInformer{inf.profiles, inf.rejections} {
		i.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    kick,
			UpdateFunc: func(_, o any) { kick(o) },
			DeleteFunc: kick,
		})
	}
}

// run runs the informers until ctx ends and they stopped.
func (inf informers) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, i := range []cache.SharedIndexInformer{inf.machines, inf.profiles, inf.rejections} {
		wg.Go(func() { i.RunWithContext(ctx) })
	}
	wg.Wait()
}

// synced returns the functions that report the informers synced.
func (inf informers) synced() []cache.InformerSynced {
	return []cache.InformerSynced{
		inf.machines.HasSynced, inf.profiles.HasSynced, inf.rejections.HasSynced,
	}
}

// cachedMachine returns the Machine called name as the cache holds it;
// the caller must not change it.
func (s *Store) cachedMachine(name string) (*v1alpha1.Machine, bool) {
	o, ok, _ := s.inf.machines.GetStore().GetByKey(s.ns + "/" + name)
	if !ok {
		return nil, false
	}
	m, ok := o.(*v1alpha1.Machine)
	return m, ok
}

// cachedMachines returns every Machine the cache holds.
func (s *Store) cachedMachines() []*v1alpha1.Machine {
	var out []*v1alpha1.Machine
	for _, o := range s.inf.machines.GetStore().List() {
		if m, ok := o.(*v1alpha1.Machine); ok {
			out = append(out, m)
		}
	}
	return out
}

// cachedRejections returns the rejections ConfigMap as the cache holds
// it; the caller must not change it.
func (s *Store) cachedRejections() (*corev1.ConfigMap, bool) {
	o, ok, _ := s.inf.rejections.GetStore().GetByKey(s.ns + "/" + rejectionsName)
	if !ok {
		return nil, false
	}
	cm, ok := o.(*corev1.ConfigMap)
	return cm, ok
}

// changeDebounce is how long the change hook waits for more changes.
const changeDebounce = 100 * time.Millisecond

// changeHook calls the functions OnChange registered, once per burst of
// changes.
type changeHook struct {
	mu  sync.Mutex
	fns []func() // guarded by mu

	once sync.Once
	c    chan struct{} // a pending change; made by init
}

func (h *changeHook) init() { h.once.Do(func() { h.c = make(chan struct{}, 1) }) }

func (h *changeHook) add(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, fn)
}

// kick notes a change without blocking.
func (h *changeHook) kick() {
	h.init()
	select {
	case h.c <- struct{}{}:
	default:
	}
}

// run calls the hooks changeDebounce after each burst of kicks, until
// ctx ends.
func (h *changeHook) run(ctx context.Context) {
	h.init()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.c:
		}
		if !settle(ctx, h.c, changeDebounce) {
			return
		}
		h.mu.Lock()
		fns := append([]func(){}, h.fns...)
		h.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
}

// settle waits until c has stayed quiet for d, draining it; false when
// ctx ended first.
func settle(ctx context.Context, c <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-c:
			t.Reset(d)
		case <-t.C:
			return true
		}
	}
}
