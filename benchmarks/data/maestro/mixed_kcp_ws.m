Network mixed_kcp_ws {
  Layer conv3x3_s1 {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 32, C: 16, R: 3, S: 3, Y: 30, X: 30 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
  Layer conv3x3_s2 {
    Type: CONV
    Stride { X: 2, Y: 2 }
    Dimensions { K: 24, C: 32, R: 3, S: 3, Y: 33, X: 33 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
  Layer conv1x1 {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 48, C: 24, R: 1, S: 1, Y: 16, X: 16 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
  Layer conv5x5 {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 20, C: 12, R: 5, S: 5, Y: 19, X: 21 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
  Layer conv7x7_s2 {
    Type: CONV
    Stride { X: 2, Y: 2 }
    Dimensions { K: 16, C: 3, R: 7, S: 7, Y: 45, X: 45 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
  Layer dw3x3 {
    Type: DSCONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 1, C: 40, R: 3, S: 3, Y: 18, X: 18 }
    Dataflow {
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
    }
  }
  Layer dw3x3_s2 {
    Type: DSCONV
    Stride { X: 2, Y: 2 }
    Dimensions { K: 1, C: 36, R: 3, S: 3, Y: 23, X: 23 }
    Dataflow {
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
    }
  }
  Layer fc {
    Type: CONV
    Stride { X: 1, Y: 1 }
    Dimensions { K: 100, C: 96, R: 1, S: 1, Y: 1, X: 1 }
    Dataflow {
      SpatialMap(1,1) K;
      TemporalMap(16,16) C;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      Cluster(16, P);
      SpatialMap(1,1) C;
      TemporalMap(Sz(R),1) Y;
      TemporalMap(Sz(S),1) X;
      TemporalMap(Sz(R),Sz(R)) R;
      TemporalMap(Sz(S),Sz(S)) S;
    }
  }
}
