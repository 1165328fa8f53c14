// Probe: what a training step adds to its products, with MKL, fp32, 1 thread, outside memplan.
// Interleaves blocks of 200 steps of four variants and prints each one's median and its ratio to the first:
//   ceiling (dW with beta 0), the SGD update fused into the product (W -= lr * dz^T x, beta 1),
//   each with a gather of 128 random 3,136-byte rows out of a 188 MB training set first.
// Build and run (after bench/with-mkl has fetched MKL once):
//   lib=.build-blas/mkl/lib; cc -O2 bench/probes/mkl_step_parts.c -o /tmp/mkl_step_parts -L$lib -Wl,--no-as-needed \
//     -l:libmkl_intel_lp64.so.3 -l:libmkl_sequential.so.3 -l:libmkl_core.so.3 -lpthread -lm -ldl -Wl,-rpath,$PWD/$lib
//   /tmp/mkl_step_parts
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
typedef enum {RowMajor=101} O; typedef enum {NoTrans=111, Trans=112} T;
void cblas_sgemm(O,T,T,int,int,int,float,const float*,int,const float*,int,float,float*,int);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define B 128
static int wd[4]={784,256,128,10};
static float *act[4],*del[4],*w[3],*g[3],*data;
static void step(int fused, int gather){
  if(gather){ for(int r=0;r<B;r++){ long s=(rand()%60000); memcpy(act[0]+r*784, data+s*784, 784*4);} }
  for(int k=0;k<3;k++) cblas_sgemm(RowMajor,NoTrans,Trans,B,wd[k+1],wd[k],1,act[k],wd[k],w[k],wd[k],0,act[k+1],wd[k+1]);
  for(int k=2;k>=0;k--){int in=wd[k],out=wd[k+1];
    if(k>0) cblas_sgemm(RowMajor,NoTrans,NoTrans,B,in,out,1,del[k+1],out,w[k],in,0,del[k],in);
    if(fused) cblas_sgemm(RowMajor,Trans,NoTrans,out,in,B,-0.0001f,del[k+1],out,act[k],in,1,w[k],in);
    else cblas_sgemm(RowMajor,Trans,NoTrans,out,in,B,1,del[k+1],out,act[k],in,0,g[k],in);}
}
int main(){
  for(int i=0;i<4;i++){act[i]=malloc(B*wd[i]*4);del[i]=malloc(B*wd[i]*4);for(int j=0;j<B*wd[i];j++)act[i][j]=del[i][j]=(j%97)/97.0-.5;}
  for(int i=0;i<3;i++){w[i]=malloc(wd[i]*wd[i+1]*4);g[i]=malloc(wd[i]*wd[i+1]*4);for(int j=0;j<wd[i]*wd[i+1];j++)w[i][j]=(j%89)/89.0-.5;}
  data=malloc(60000L*784*4); for(long j=0;j<60000L*784;j++) data[j]=(j%255)/255.0;
  const char*names[4]={"ceiling (dW beta0)","fused update beta1","ceiling + gather","fused + gather"};
  double best[4][10];
  for(int rep=0;rep<10;rep++) for(int v=0;v<4;v++){ for(int i=0;i<20;i++) step(v&1,v>>1); double s=now(); for(int i=0;i<200;i++) step(v&1,v>>1); best[v][rep]=200*B/(now()-s);}
  for(int v=0;v<4;v++){ double r[10]; for(int i=0;i<10;i++) r[i]=best[v][i]/best[0][i]; 
    for(int i=0;i<10;i++)for(int j=i+1;j<10;j++)if(r[j]<r[i]){double t=r[i];r[i]=r[j];r[j]=t;}
    double m[10]; memcpy(m,best[v],sizeof m); for(int i=0;i<10;i++)for(int j=i+1;j<10;j++)if(m[j]<m[i]){double t=m[i];m[i]=m[j];m[j]=t;}
    printf("%-22s median %.0f samples/s, ratio to ceiling median %.3f (%.3f-%.3f)\n",names[v],(m[4]+m[5])/2,(r[4]+r[5])/2,r[0],r[9]);}
}
