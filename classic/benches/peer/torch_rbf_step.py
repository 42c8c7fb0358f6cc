"""PyTorch peer of benches/classic.rs rbf_gradient_step: one forward, MSE, backward and Adam step
of a 60-centre Gaussian RBF network on a batch of 50 4-D rows (f32, one thread).

Run: python torch_rbf_step.py
"""
import torch, time
torch.set_num_threads(1)
d,m,n=4,60,50
x=torch.rand(d,n); y=torch.rand(1,n)
c=torch.rand(d,m,requires_grad=True); lw=torch.zeros(m,requires_grad=True)
w=torch.zeros(1,m,requires_grad=True); b=torch.zeros(1,requires_grad=True)
opt=torch.optim.Adam([c,lw,w,b],lr=1e-4)
def step():
    r2=((x[:,None,:]-c[:,:,None])**2).sum(0)
    phi=torch.exp(-0.5*r2/torch.exp(2*lw)[:,None])
    out=w@phi+b[:,None]
    loss=((out-y)**2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(200): step()
t=time.perf_counter(); N=3000
for _ in range(N): step()
print('torch rbf step (f32, 1 thread): %.1f us' % ((time.perf_counter()-t)/N*1e6))
